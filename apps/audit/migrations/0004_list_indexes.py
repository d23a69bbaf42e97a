from django.db import migrations

from apps.core.pg_indexes import postgres_indexes

# The audit log's filters read the newest matching events first: with these an action or an actor filter
# reads its page (and counts up to the page's cap) from one index range, instead of walking the whole
# trail newest-first until enough events match (a rare actor: the whole million events).
# PostgreSQL only, like apps/upgrades/migrations/0005_bench_indexes.py: the actor index is on the
# expression the `iexact` lookup compiles to there, and the embedded SQLite demo needs neither.
INDEXES = {
    "audit_action_seq_idx": "ON audit_auditevent (action, seq)",
    "audit_actor_upper_seq_idx": "ON audit_auditevent (UPPER(actor_username::text), seq)",
}


class Migration(migrations.Migration):

    dependencies = [
        ("audit", "0003_retention_and_legal_holds"),
    ]

    operations = [postgres_indexes(INDEXES, analyze="audit_auditevent")]  # statistics for the new expression
