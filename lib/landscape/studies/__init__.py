"""Each chapter's own analysis, one subpackage per chapter. Tools never import these."""
