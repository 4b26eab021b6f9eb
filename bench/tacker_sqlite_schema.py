"""Creates real Tacker's tables in the SQLite database of a tacker.conf (benchmark only).

Usage: tacker_sqlite_schema.py <tacker.conf>   (run with .venv/tacker's Python)

`tacker-db-manage upgrade head` cannot run on SQLite (its migrations use ALTER COLUMN), so the
tables come from the models `tacker.db.migration.models.head` gathers: the schema the
migrations' head describes, created as Tacker's own unit tests create theirs on SQLite.
"""

import configparser
import sys

import sqlalchemy

from tacker.db.migration.models import head


def main():
    parser = configparser.RawConfigParser()
    parser.read(sys.argv[1])
    url = parser.get('database', 'connection')
    if not url.startswith('sqlite:'):
        sys.exit(f'tacker_sqlite_schema.py: not a SQLite URL: {url}')
    engine = sqlalchemy.create_engine(url)
    head.model_base.BASE.metadata.create_all(engine)
    print(f'tacker_sqlite_schema: {len(head.model_base.BASE.metadata.tables)} tables')


if __name__ == '__main__':
    main()
