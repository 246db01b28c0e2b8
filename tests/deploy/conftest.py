"""The rehearsal runs against the integration tests' local cloud: their fixtures, imported here.

A fixture imported into a conftest is defined for this directory too; the session's stack for these tests is
started by the same code, with the same project and BigQuery compatibility patches, as tests/integration's.
"""

from tests.integration.conftest import bigquery_admin, dataset, local_stack

__all__ = ["bigquery_admin", "dataset", "local_stack"]
