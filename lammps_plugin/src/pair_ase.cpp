/* pair_style ase: hand the atoms of a LAMMPS run to an ASE calculator living
   in Python, and take back energy, forces and virial.

     pair_style ase <spec> [cutoff] [threads N]
     pair_coeff * * <element or NULL per atom type>

   <spec> names a calculator registered from Python
   (lammps_plugin.register_calculator) or a spec understood by
   ase_ftcalc.spec.calculator_from_spec ('chgnet', 'chgnet:/path/model.pt',
   'emt', 'module:function').  The ASE calculator sees the whole periodic
   cell, so no LAMMPS neighbor list is requested; the cutoff only sets the
   communication cutoff (default 5 A).

   Under mpirun every rank sends its local atoms to rank 0, which alone runs
   Python and the calculator, and gets its forces back: the calculator sees
   the same Atoms (in atom-ID order) whatever the number of ranks, so results
   equal those of one rank.  Ranks other than 0 never start Python; while
   rank 0 computes they wait without spinning, leaving the cores to it.  */

#include "lammpsplugin.h"
#include "python_embed.h"

#include "atom.h"
#include "comm.h"
#include "domain.h"
#include "error.h"
#include "force.h"
#include "memory.h"
#include "pair.h"
#include "update.h"
#include "utils.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

using namespace LAMMPS_NS;

namespace {

constexpr int ROOT = 0;       // the rank that runs the calculator
constexpr int PACKED = 5;     // doubles per gathered atom: tag, type, x, y, z

const char *USAGE = "pair_style ase <spec> [cutoff] [threads N]";

// MPI_Wait that sleeps instead of spinning: mpich busy-polls, which would take
// a core from the torch threads of rank 0.  The pause doubles from 1 us up to
// 1/100 of the previous wait (20 us .. 1 ms): sleeping late adds at most ~1 %
// to a step (the scheduler's wake-up latency comes on top) and a wait costs
// ~100 wake-ups, however long the calculator takes.
void wait_quietly(MPI_Request &request, double &last_wait_s)
{
  const double start = MPI_Wtime();
  const long cap_ns = std::clamp(static_cast<long>(last_wait_s * 1e7), 20000L, 1000000L);
  long pause_ns = 1000;
  int done = 0;
  for (int spin = 0;; ++spin) {
    MPI_Test(&request, &done, MPI_STATUS_IGNORE);
    if (done) break;
    if (spin < 100) continue;
    timespec ts{0, pause_ns};
    nanosleep(&ts, nullptr);
    pause_ns = std::min(2 * pause_ns, cap_ns);
  }
  last_wait_s = MPI_Wtime() - start;
}

}    // namespace

namespace LAMMPS_NS {

class PairASE : public Pair {
 public:
  explicit PairASE(LAMMPS *lmp) : Pair(lmp)
  {
    single_enable = 0;
    restartinfo = 0;
    one_coeff = 1;
    manybody_flag = 1;
    no_virial_fdotr_compute = 1;
    centroidstressflag = CENTROID_NOTAVAIL;
  }

  ~PairASE() override
  {
    release();
    if (allocated) {
      memory->destroy(setflag);
      memory->destroy(cutsq);
    }
  }

  void settings(int narg, char **arg) override
  {
    if (narg < 1) error->all(FLERR, "Illegal pair_style ase command: {}", USAGE);
    spec = arg[0];
    cut_global = 5.0;
    nthreads = -1;
    int iarg = 1;
    if (iarg < narg && utils::is_double(arg[iarg])) {
      cut_global = utils::numeric(FLERR, arg[iarg++], false, lmp);
      if (!(cut_global > 0.0) || !std::isfinite(cut_global))
        error->all(FLERR, "pair_style ase: the cutoff must be a positive distance in Angstrom, got {}",
                   arg[iarg - 1]);
    }
    while (iarg < narg) {
      if (std::strcmp(arg[iarg], "threads") != 0)
        error->all(FLERR, "pair_style ase: '{}' is neither a cutoff (a positive number) nor a keyword; usage: {}",
                   arg[iarg], USAGE);
      if (iarg + 1 >= narg) error->all(FLERR, "pair_style ase: 'threads' needs a value; usage: {}", USAGE);
      const char *value = arg[iarg + 1];
      if (!utils::is_integer(value) || std::atol(value) < 1 || std::atol(value) > 1 << 20)
        error->all(FLERR, "pair_style ase: threads must be a positive integer (torch threads), got '{}'",
                   value);
      nthreads = std::atoi(value);
      iarg += 2;
    }
    std::string msg;
    if (comm->me == ROOT) msg = create_bridge();
    stop_if_failed(msg, "pair_style ase " + spec + ": ");
  }

  void coeff(int narg, char **arg) override
  {
    const int ntypes = atom->ntypes;
    if (narg != 2 + ntypes || std::strcmp(arg[0], "*") != 0 || std::strcmp(arg[1], "*") != 0)
      error->all(FLERR,
                 "pair_coeff for pair_style ase must be 'pair_coeff * * <element per atom type>' "
                 "with {} element names (NULL skips a type); got {} argument(s)",
                 ntypes, narg);
    if (!allocated) allocate();
    elements.assign(ntypes + 1, "");
    std::string joined;
    for (int i = 1; i <= ntypes; ++i) {
      std::string el = arg[1 + i];
      if (el != "NULL") elements[i] = el;
      joined += (i > 1 ? " " : "") + el;
    }
    for (int i = 1; i <= ntypes; ++i)
      for (int j = i; j <= ntypes; ++j) setflag[i][j] = 1;
    std::string msg;
    if (comm->me == ROOT) {
      GIL gil;
      msg = call(bridge, "set_elements", py.BuildValue("(s)", joined.c_str()));
    }
    stop_if_failed(msg, "pair_style ase: ");
    coeff_set = true;
  }

  void init_style() override
  {
    if (std::strcmp(update->unit_style, "metal") != 0)
      error->all(FLERR, "pair_style ase needs 'units metal' (eV, Angstrom), not units {}",
                 update->unit_style);
    if (atom->tag_enable == 0) error->all(FLERR, "pair_style ase needs atom IDs");
    if (!coeff_set) error->all(FLERR, "pair_style ase needs 'pair_coeff * * <element per atom type>'");
    std::string missing;
    for (int i = 1; i <= atom->ntypes; ++i)
      if (elements[i].empty()) missing += " " + std::to_string(i);
    // a NULL type is fine under hybrid (another sub-style covers it), an error alone
    if (!missing.empty() && force->pair == this)
      error->all(FLERR,
                 "pair_style ase: atom type(s){} have no element in pair_coeff (NULL); every atom "
                 "type needs an element unless pair_style hybrid/overlay covers it",
                 missing);
    // no neighbor list: the ASE calculator builds its own from the periodic cell
    ncalls = 0;
    t_calculator = t_compute = 0.0;
  }

  // End-of-run statistics (Finish calls this): the time the bridge adds to the calculator's.
  void finish() override
  {
    if (comm->me != ROOT || ncalls == 0) return;
    const double bridge_s = t_compute - t_calculator;
    utils::logmesg(lmp,
                   "pair_style ase: {} calls on rank 0 of {}: calculator {:.4g} s, gather/scatter and "
                   "copies {:.4g} s ({:.4g} ms per call)\n",
                   ncalls, comm->nprocs, t_calculator, bridge_s, 1e3 * bridge_s / ncalls);
  }

  double init_one(int, int) override { return cut_global; }

  void compute(int eflag, int vflag) override
  {
    ev_init(eflag, vflag);
    if (vflag_atom || cvflag_atom)
      error->all(FLERR, "pair_style ase cannot compute per-atom virials (compute stress/atom)");

    const double t0 = MPI_Wtime();
    gather();
    if (total == 0) return;

    double out[7] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0};
    const int stride = eflag_atom ? 4 : 3;    // fx fy fz [e]
    std::string msg;
    if (comm->me == ROOT) msg = compute_on_root(out, stride);
    stop_if_failed(msg, fmt::format("pair_style ase {} at step {}: ", spec, update->ntimestep));

    // forces (and per-atom energies) back to the ranks that own the atoms
    std::vector<int> counts(comm->nprocs), displs(comm->nprocs);
    for (int p = 0; p < comm->nprocs; ++p) {
      counts[p] = stride * rank_counts[p];
      displs[p] = stride * rank_displs[p];
    }
    const int n = static_cast<int>(index.size());
    mine.resize(stride * (size_t) n);
    MPI_Scatterv(result.data(), counts.data(), displs.data(), MPI_DOUBLE, mine.data(), stride * n,
                 MPI_DOUBLE, ROOT, world);

    double **f = atom->f;
    for (int k = 0; k < n; ++k) {
      const int i = index[k];
      f[i][0] += mine[stride * k];
      f[i][1] += mine[stride * k + 1];
      f[i][2] += mine[stride * k + 2];
      if (eflag_atom) eatom[i] += mine[stride * k + 3];
    }
    // LAMMPS sums eng_vdwl and virial over ranks: the totals count once, on the root
    if (comm->me == ROOT) {
      if (eflag_global) eng_vdwl += out[0];
      if (vflag_global)
        for (int d = 0; d < 6; ++d) virial[d] += out[1 + d];
    }
    ++ncalls;
    t_compute += MPI_Wtime() - t0;
  }

 protected:
  void allocate()
  {
    allocated = 1;
    const int np1 = atom->ntypes + 1;
    memory->create(setflag, np1, np1, "pair:setflag");
    memory->create(cutsq, np1, np1, "pair:cutsq");
    for (int i = 1; i < np1; ++i)
      for (int j = i; j < np1; ++j) setflag[i][j] = 0;
  }

 private:
  std::string spec;
  double cut_global = 5.0;
  int nthreads = -1;
  bool coeff_set = false;
  PyObj *bridge = nullptr;    // only on the root rank
  std::vector<std::string> elements;
  std::vector<int> index;                                // local atoms this style covers
  std::vector<int> rank_counts, rank_displs;             // atoms per rank, in gathered order
  int total = 0;
  long ncalls = 0;
  double t_calculator = 0.0, t_compute = 0.0;    // root: seconds in Python, in compute()
  double last_wait_s = 0.0;                       // other ranks: their last wait for the root
  std::vector<double> packed, gathered, result, mine;    // MPI buffers
  std::vector<int64_t> tags;                             // root only, in gathered order
  std::vector<int> types;
  std::vector<double> pos, frc, eat;

  static unsigned long long addr(const void *p) { return (unsigned long long) (uintptr_t) p; }

  // Every rank sends tag, type and position of its atoms (those with an element) to the root.
  void gather()
  {
    const int nlocal = atom->nlocal;
    const int *type = atom->type;
    const tagint *tag = atom->tag;
    double **x = atom->x;
    const double *lo = domain->boxlo;

    index.clear();
    for (int i = 0; i < nlocal; ++i)
      if (!elements[type[i]].empty()) index.push_back(i);
    const int n = static_cast<int>(index.size());
    packed.resize(PACKED * (size_t) n);
    for (int k = 0; k < n; ++k) {
      const int i = index[k];
      double *p = &packed[PACKED * (size_t) k];
      p[0] = static_cast<double>(tag[i]);    // exact: tags stay far below 2^53
      p[1] = type[i];
      for (int d = 0; d < 3; ++d) p[2 + d] = x[i][d] - lo[d];
    }

    const int nprocs = comm->nprocs;
    rank_counts.resize(nprocs);
    rank_displs.resize(nprocs);
    MPI_Allgather(&n, 1, MPI_INT, rank_counts.data(), 1, MPI_INT, world);
    total = 0;
    for (int p = 0; p < nprocs; ++p) {
      rank_displs[p] = total;
      total += rank_counts[p];
    }
    if (total == 0) return;
    std::vector<int> counts(nprocs), displs(nprocs);
    for (int p = 0; p < nprocs; ++p) {
      counts[p] = PACKED * rank_counts[p];
      displs[p] = PACKED * rank_displs[p];
    }
    if (comm->me == ROOT) gathered.resize(PACKED * (size_t) total);
    MPI_Gatherv(packed.data(), PACKED * n, MPI_DOUBLE, gathered.data(), counts.data(), displs.data(),
                MPI_DOUBLE, ROOT, world);
  }

  // Root: the calculator on all gathered atoms; fills result (stride per atom) and out.
  std::string compute_on_root(double *out, int stride)
  {
    const int n = total;
    tags.resize(n);
    types.resize(n);
    pos.resize(3 * (size_t) n);
    frc.assign(3 * (size_t) n, 0.0);
    eat.assign(eflag_atom ? n : 1, 0.0);
    for (int k = 0; k < n; ++k) {
      const double *p = &gathered[PACKED * (size_t) k];
      tags[k] = static_cast<int64_t>(p[0]);
      types[k] = static_cast<int>(p[1]);
      for (int d = 0; d < 3; ++d) pos[3 * k + d] = p[2 + d];
    }
    // cell rows a, b, c from LAMMPS' restricted triclinic box (h = xx yy zz yz xz xy)
    const double *h = domain->h;
    double cell[9] = {h[0], 0.0, 0.0, h[5], h[1], 0.0, h[4], h[3], h[2]};
    int pbc[3] = {domain->xperiodic, domain->yperiodic, domain->zperiodic};

    std::string msg;
    const double t0 = MPI_Wtime();
    {
      GIL gil;
      PyObj *args = py.BuildValue(
          "(iKKKKKKKKii)", n, addr(tags.data()), addr(types.data()), addr(pos.data()),
          addr(cell), addr(pbc), addr(frc.data()), addr(out), eflag_atom ? addr(eat.data()) : 0ULL,
          eflag_either ? 1 : 0, vflag_either ? 1 : 0);
      msg = call(bridge, "compute", args);
    }
    t_calculator += MPI_Wtime() - t0;
    if (!msg.empty()) return msg;
    result.resize(stride * (size_t) n);
    for (int k = 0; k < n; ++k) {
      for (int d = 0; d < 3; ++d) result[stride * (size_t) k + d] = frc[3 * (size_t) k + d];
      if (eflag_atom) result[stride * (size_t) k + 3] = eat[k];
    }
    return "";
  }

  // Collective: the root's message (empty: all is well) reaches every rank, and a
  // non-empty one stops all of them with the same LAMMPS error.  The other ranks
  // wait here while the root computes.
  void stop_if_failed(const std::string &root_msg, const std::string &prefix)
  {
    int length = static_cast<int>(root_msg.size());
    if (comm->nprocs > 1) {
      MPI_Request request;
      MPI_Ibcast(&length, 1, MPI_INT, ROOT, world, &request);
      if (comm->me == ROOT)
        MPI_Wait(&request, MPI_STATUS_IGNORE);
      else
        wait_quietly(request, last_wait_s);
    }
    if (length == 0) return;
    std::string msg = root_msg;
    msg.resize(length);
    if (comm->nprocs > 1) MPI_Bcast(&msg[0], length, MPI_CHAR, ROOT, world);
    error->all(FLERR, prefix + msg);
  }

  // Root: start Python if needed and create the bridge; returns an error message or "".
  std::string create_bridge()
  {
    std::string why = start_python();
    if (!why.empty()) return why;
    release();
    GIL gil;
    PyObj *module = py.ImportModule("lammps_plugin.bridge");
    if (module) {
      PyObj *create = py.GetAttrString(module, "create");
      PyObj *args = py.BuildValue("(sii)", spec.c_str(), nthreads, py.embedded ? 1 : 0);
      if (create && args) bridge = py.CallObject(create, args);
      if (args) py.DecRef(args);
      if (create) py.DecRef(create);
      py.DecRef(module);
    }
    return bridge ? "" : python_error();
  }

  // Call bridge.<method>(*args) (steals args).  GIL must be held.  Returns
  // "" on success, else the message: a str returned by the method or the
  // text of an exception it raised.
  std::string call(PyObj *obj, const char *method, PyObj *args)
  {
    if (!obj) {
      if (args) py.DecRef(args);
      return "no calculator (pair_style ase was not set up)";
    }
    std::string msg;
    PyObj *fn = py.GetAttrString(obj, method);
    PyObj *res = (fn && args) ? py.CallObject(fn, args) : nullptr;
    if (!res) {
      msg = python_error();
    } else if (res != py.None) {
      const char *s = py.AsUTF8(res);
      msg = s ? s : python_error();
    }
    if (res) py.DecRef(res);
    if (fn) py.DecRef(fn);
    if (args) py.DecRef(args);
    return msg;
  }

  void release()
  {
    if (!bridge) return;
    if (py.ready && py.IsInitialized() && !(py.IsFinalizing && py.IsFinalizing())) {
      GIL gil;
      py.DecRef(bridge);
      // the embedded interpreter is never finalized (torch does not survive it): flush now
      if (py.embedded) py.RunString("import sys\nfor _s in (sys.stdout, sys.stderr):\n    _s and _s.flush()\n", nullptr);
    }
    bridge = nullptr;
  }
};

}    // namespace LAMMPS_NS

static Pair *create_pair_ase(LAMMPS *lmp)
{
  return new PairASE(lmp);
}

extern "C" void lammpsplugin_init(void *lmp, void *handle, void *regfunc)
{
  lammpsplugin_t plugin;
  plugin.version = LAMMPS_VERSION;
  plugin.style = "pair";
  plugin.name = "ase";
  plugin.info = "pair_style ase: any ASE calculator (ase-ftcalc bridge)";
  plugin.author = "ase-ftcalc";
  plugin.creator.v1 = (ase_ftcalc_creator1 *) &create_pair_ase;
  plugin.handle = handle;
  (*(lammpsplugin_regfunc) regfunc)(&plugin, lmp);
}
