"""The database router: the replica for reads inside core.replica.reading_replica(),
the primary ("default") for everything else. It answers every question itself,
so an object read from the replica is still saved to, and its relations read
from, the primary outside the scope."""

from django.db import DEFAULT_DB_ALIAS

from . import replica


class ReplicaRouter:
    def db_for_read(self, model, **hints):
        return replica.read_alias()

    def db_for_write(self, model, **hints):
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints):
        # Both aliases hold the same rows (None: not saved yet).
        if {obj1._state.db, obj2._state.db} <= {None, DEFAULT_DB_ALIAS, replica.REPLICA}:
            return True
        return None

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        # A replica follows the primary's schema by replication.
        return db != replica.REPLICA
