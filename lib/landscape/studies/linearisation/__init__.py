"""Chapter 05 (source 001): the width study and the index of the slides' model."""
