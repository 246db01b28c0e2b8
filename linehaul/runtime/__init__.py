"""The Cloud Functions runtime glue: the two functions (:mod:`linehaul.runtime.ingestor`,
:mod:`linehaul.runtime.publisher`), reading their CloudEvents and logging one JSON line per event
(:mod:`linehaul.runtime.entry`), and the process's allocator setting (:mod:`linehaul.runtime.heap`).

The pipeline's logic is in :mod:`linehaul.pipeline`; this package only connects it to Cloud Functions
(functions-framework) and to the Google Cloud adapters (:mod:`linehaul.gcp`). ``functions/*/main.py``, the
directories that are deployed, re-export the two functions.
"""
