"""Import prompts, candidates and preference data into a project.

The entry points are in `service`: `import_file` (the command, and the worker running
an upload) and `import_records` (data already in memory: the API's JSON body); both
check every row first and write all or nothing. `jobs` stores an upload from the
admin or the API and queues it for a worker. Underneath: `caps` (how much one import
may read), `reading` (files streamed into numbered records), `formats` (a record into
what to store), `writing` (a chunk of rows stored in a few queries) and `outcome`
(the counts, or the bad rows). This module stays free of imports so that naming the
formats loads nothing else.
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
