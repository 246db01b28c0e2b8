"""Beam against a Cloud Storage emulator: no search for Google credentials.

Before its first request, Beam's ``gs://`` filesystem looks for application default credentials; where
there are none it retries for about 30 seconds, logging tracebacks, then connects anonymously (and so
reaches the emulator named by STORAGE_EMULATOR_HOST). An emulator needs no credentials: when that variable
is set, :func:`skip_credentials_for_emulator` gives Beam the anonymous answer at once, in every process
that imports :mod:`linehaul.beam` (workers import it to run its transforms).

It sets a private cache of ``apache_beam.internal.gcp.auth`` exactly as Beam does after its search, and
only on the version it was written for (the ``beam`` extra pins it); on any other it does nothing.
"""

from __future__ import annotations

import os

import apache_beam

__all__ = ["BEAM_VERSION", "skip_credentials_for_emulator"]

BEAM_VERSION = "2.77.0"


def skip_credentials_for_emulator() -> bool:
    """With STORAGE_EMULATOR_HOST set, make Beam connect anonymously without looking for credentials.
    Returns whether it did."""
    if not os.environ.get("STORAGE_EMULATOR_HOST") or apache_beam.__version__ != BEAM_VERSION:
        return False
    from apache_beam.internal.gcp import auth

    with auth._Credentials._credentials_lock:
        if not auth._Credentials._credentials_init:
            auth._Credentials._credentials = None  # what the search ends with: connect anonymously
            auth._Credentials._credentials_init = True
    return True
