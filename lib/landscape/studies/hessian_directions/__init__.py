"""Chapter 03 (source 002): toy saddles, random directions, trained points and their planes."""
