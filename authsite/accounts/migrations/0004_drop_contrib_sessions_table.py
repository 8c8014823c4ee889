"""Drop what django.contrib.sessions left behind in databases created while it was installed.

Sessions live in ``accounts_session`` (authsite.accounts.sessions). On such databases the old
``django_session`` table holds nothing the site reads, and the ``sessions`` rows of
``django_migrations`` would make a later reinstall of the app skip creating its table, so both
go. On a database that never had the app this does nothing. Reversing it does nothing either:
the table's data is not needed by any version of the site.
"""

from django.db import migrations

OLD_TABLE = "django_session"


def drop_contrib_sessions(apps, schema_editor) -> None:
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        tables = connection.introspection.table_names(cursor)
    if OLD_TABLE in tables:
        schema_editor.execute(f"DROP TABLE {schema_editor.quote_name(OLD_TABLE)}")
    if "django_migrations" in tables:
        schema_editor.execute("DELETE FROM django_migrations WHERE app = %s", ["sessions"])


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_user_mfa_enrol_required_at"),
    ]

    operations = [
        migrations.RunPython(drop_contrib_sessions, migrations.RunPython.noop, elidable=True),
    ]
