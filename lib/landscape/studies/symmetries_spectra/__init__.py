"""Chapter 07 (source 003, part 2): symmetry studies, outlier tracking, XOR."""
