"""Scripts and modules of the repository that are not the package: run from its folder."""
