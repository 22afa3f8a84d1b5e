"""Digital twins of SaaS APIs: local, stateful stand-ins for Slack, GitHub and the like.

A twin is declared as operations (:class:`Twin`, :meth:`Twin.operation`) and served by
:class:`~localfactory.twins.app.TwinApp`, which adds validation, auth, faults, the
request journal, snapshots and the admin API under ``/_twin/``. Shipped twins live in
the top-level ``twins/`` folder and are found by :mod:`localfactory.twins.catalog`.
"""

from localfactory.twins.core import Call, Operation, Refusal, Reply, Stream, TokenScheme, Twin
from localfactory.twins.state import TwinState

__all__ = ["Call", "Operation", "Refusal", "Reply", "Stream", "TokenScheme", "Twin", "TwinState"]
