"""csp26: crystal-structure prediction of 26 compounds (LCOM paper, Table 1)."""
