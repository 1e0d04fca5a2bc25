"""Looking at a loss surface: directions, 1-D and 2-D slices, interpolation, convexity, export."""
