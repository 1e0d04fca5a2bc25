"""Chapter 04 (source 004): the digits networks and the chapter's sweeps."""
