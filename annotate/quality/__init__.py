"""Annotation quality: do the annotators agree, and which models do people prefer?

stats.py and bradley_terry.py are the maths (numpy, no database); report.py turns
submitted rankings into per-annotator and per-project figures; selection.py decides
from them which rankings train and exports hold, with what weight, and folds several
of one prompt into a consensus; selectors.py reads them from the database. The human
leaderboard of model versions is training/leaderboard.py, since it needs to know which
model wrote each output.
"""
