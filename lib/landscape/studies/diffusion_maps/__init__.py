"""Chapter 02 (source 000): readings of the unstated choices, Tables 2-5, null models, training choices."""
