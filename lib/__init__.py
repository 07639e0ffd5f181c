"""The library that the command line (build_results.py), the MkDocs hooks, the macros and the
charts share. Everything in here that `measure` needs uses only the standard library (and torch
where it reads the GPU), so that it runs on a bare GPU box.

    lib.results        results files: paths, reading and validating (schema), atomic writing,
                       the per-folder lock, scrubbing published text of local paths
    lib.machine        which machine this is: its record, folder name, and how two differ
    lib.plausibility   figures that cannot be right (datasheet, time, cache), with waivers
    lib.datasheets     GPU datasheet figures (not measured), matched by whole model name
    lib.cpu_datasheets CPU families' per-socket figures (not measured); what a measured CPU is
    lib.ceilings       a device's ceilings: the best rate any snippet measured on it
    lib.featured       the machine whose figures the pages' prose quotes
    lib.verdicts       each claim's verdict, from a rule over the results
"""
