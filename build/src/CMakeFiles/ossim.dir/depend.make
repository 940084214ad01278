# Empty dependencies file for ossim.
# This may be replaced when dependencies are built.
