"""Import prompts, candidates and preference data into a project.

The entry points are in `service`: `import_file` (the command and the admin upload) and
`import_records` (data already in memory); both check every row first and write all or
nothing. This module stays free of imports so that naming the formats does not load the
trainer's readers (and torch with them).
"""

FORMATS = (
    "auto",
    "prompts",
    "candidates",
    "trl",
    "trl-unpaired",
    "hh-rlhf",
    "ultrafeedback",
    "rankings",
)
