# Schema fixtures (tests/fixtures/schema): the migrations of agent/store.c
# read from its source, a database at version N made from them, rows
# copied into it from a populated database of the current version, and
# the check that a fixture's schema is what migrations 1..N make today.
#
#   schema-fixture.py make N SOURCE_DB OUT.sql   version N with SOURCE's rows
#                     (BACKEND_URL: the fake-llm URL SOURCE's providers name)
#   schema-fixture.py check FIXTURE.sql N        schema == migrations 1..N
#   schema-fixture.py count                      how many migrations there are
#
# Run from the top of the tree. See tests/fixtures/schema/README.md.
import os, re, sqlite3, subprocess, sys

STORE_C = os.path.join(os.environ.get("CUBE_ROOT", "."), "agent", "store.c")
# The provider URLs in a fixture: the test puts its fake-llm here.
BACKEND_PLACEHOLDER = "http://fake-llm.invalid"


def migrations():
    """The store_migrations[] strings of agent/store.c, in order."""
    src = open(STORE_C, encoding="utf-8").read()
    start = src.index("store_migrations[] = {") + len("store_migrations[] = {")
    body = src[start:src.index("\n};", start)]
    body = re.sub(r"/\*.*?\*/", "", body, flags=re.S)
    out, cur, pos = [], "", 0
    tok = re.compile(r'\s*("(?:[^"\\]|\\.)*"|,)', re.S)
    while True:
        m = tok.match(body, pos)
        if not m:
            break
        pos = m.end()
        if m.group(1) == ",":
            out.append(cur)
            cur = ""
        else:
            cur += m.group(1)[1:-1].encode().decode("unicode_escape")
    if body[pos:].strip():
        sys.exit("schema-fixture: cannot read store_migrations near: %r"
                 % body[pos:pos + 60])
    if cur:
        out.append(cur)
    return out


def schema_at(n):
    """An in-memory database at version n, made by migrations 1..n."""
    db = sqlite3.connect(":memory:")
    for sql in migrations()[:n]:
        db.executescript(sql)
    db.execute("PRAGMA user_version = %d" % n)
    return db


def schema_of(db):
    return sorted((r[0], r[1], r[2]) for r in db.execute(
        "SELECT type, name, sql FROM sqlite_master"
        " WHERE name NOT LIKE 'sqlite_%' ORDER BY name"))


def columns(db, schema, table):
    return [r[1] for r in db.execute(
        "PRAGMA %s.table_info(%s)" % (schema, table))]


def make(n, source, out):
    mig = migrations()
    if not 1 <= n <= len(mig):
        sys.exit("schema-fixture: version %d: this tree has 1..%d" %
                 (n, len(mig)))
    tmp = out + ".db"
    if os.path.exists(tmp):
        os.unlink(tmp)
    db = sqlite3.connect(tmp)
    db.isolation_level = None
    for sql in mig[:n]:
        db.executescript(sql)
    db.execute("ATTACH DATABASE ? AS src", ("file:%s?mode=ro" % source,))
    db.execute("BEGIN")
    tables = [r[0] for r in db.execute(
        "SELECT name FROM main.sqlite_master WHERE type = 'table'"
        " AND name NOT LIKE 'sqlite_%'")]
    for t in tables:
        have = set(columns(db, "src", t))
        cols = [c for c in columns(db, "main", t) if c in have]
        sel = ["'[]'" if n < 3 and c in ("guard_in", "guard_out") else c
               for c in cols]
        db.execute("INSERT INTO main.%s (%s) SELECT %s FROM src.%s" %
                   (t, ", ".join(cols), ", ".join(sel), t))
    db.execute("UPDATE main.providers SET url = replace(url, ?, ?)",
               (os.environ["BACKEND_URL"], BACKEND_PLACEHOLDER))
    db.execute("PRAGMA user_version = %d" % n)
    db.execute("COMMIT")
    db.execute("DETACH DATABASE src")
    bad = db.execute("PRAGMA foreign_key_check").fetchall()
    if bad:
        sys.exit("schema-fixture: v%d: foreign keys broken: %r" % (n, bad))
    db.close()
    dump = subprocess.run(["sqlite3", tmp, ".dump"], check=True,
                          capture_output=True, text=True).stdout
    os.unlink(tmp)
    with open(out, "w", encoding="utf-8") as f:
        f.write("-- Cube agent database at schema version %d with data:"
                " tests/fixtures/schema/README.md.\n" % n)
        f.write("-- Made by tests/tools/schema-fixture; test-only keys.\n")
        f.write(dump)
        f.write("PRAGMA user_version = %d;\n" % n)


def check(fixture, n):
    """Exit 1 when the fixture's schema is not what migrations 1..n make
    today: a shipped migration was edited, or the fixture was."""
    db = sqlite3.connect(":memory:")
    db.executescript(open(fixture, encoding="utf-8").read())
    have = schema_of(db)
    got = db.execute("PRAGMA user_version").fetchone()[0]
    want = schema_of(schema_at(n))
    if got != n:
        sys.exit("%s: user_version %d, not %d" % (fixture, got, n))
    if have != want:
        diff = [w for w in want if w not in have] + \
               [h for h in have if h not in want]
        sys.exit("%s: schema differs from migrations 1..%d of %s: %r" %
                 (fixture, n, STORE_C, diff[:2]))


def main():
    a = sys.argv[1:]
    if a[:1] == ["make"] and len(a) == 4:
        make(int(a[1]), a[2], a[3])
    elif a[:1] == ["check"] and len(a) == 3:
        check(a[1], int(a[2]))
    elif a == ["count"]:
        print(len(migrations()))
    else:
        sys.exit("usage: schema-fixture.py make N SOURCE_DB OUT.sql |"
                 " check FIXTURE.sql N | count")


if __name__ == "__main__":
    main()
