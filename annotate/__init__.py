"""Collection: projects, prompts, candidates, assignments, annotations, comparisons."""
