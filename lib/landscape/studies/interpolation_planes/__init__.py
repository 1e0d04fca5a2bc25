"""Chapter 06 (source 003, part 1): the residual family and Im et al.'s segments."""
