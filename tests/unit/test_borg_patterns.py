"""borg exclude semantics: the tables of borg's own tests, src/borg/testsuite/patterns.py and
src/borg/testsuite/shellpattern.py of borg 1.2.4 (Debian 12) and 1.4.0 (Debian 13), the same
rows in both (and unchanged through 1.4.5; only comments and ``with open`` differ). Left out:
the macOS-only NFD rows (borg normalises only on darwin) and test_pattern_matcher's arbitrary
command values (our matcher answers kept or not). Then borg create's walk: an excluded
directory is not descended into, ``--exclude-caches``, ``--exclude-if-present`` and
``--keep-exclude-tags``."""

import posixpath

import pytest

from backup_drills.core.borg_patterns import (
    CACHE_TAG_CONTENTS,
    CACHE_TAG_NAME,
    BorgPatternError,
    PatternMatcher,
    borg_excluded,
    create_excluded,
    load_exclude_lines,
    load_pattern_lines,
    make_pattern,
    parse_exclude,
    parse_pattern,
    shell_translate,
    tags_from_names,
)


def check_patterns(files, pattern, expected):
    assert all(f == posixpath.normpath(f) for f in files)
    assert [f for f in files if pattern.match(f)] == (files if expected is None else expected)


# test_patterns_full
@pytest.mark.parametrize(("pattern", "expected"), [
    ("/", []),
    ("/home", ["home"]),
    ("/home///", ["home"]),
    ("/./home", ["home"]),
    ("/home/user", ["home/user"]),
    ("/home/user2", ["home/user2"]),
    ("/home/user/.bashrc", ["home/user/.bashrc"]),
])
def test_patterns_full(pattern, expected):
    check_patterns(["home", "home/user", "home/user2", "home/user/.bashrc"],
                   make_pattern("pf", pattern), expected)


@pytest.mark.parametrize(("pattern", "expected"), [
    ("", []),
    ("relative", []),
    ("relative/path/", ["relative/path"]),
    ("relative/path", ["relative/path"]),
])
def test_patterns_full_relative(pattern, expected):
    check_patterns(["relative/path", "relative/path2"], make_pattern("pf", pattern), expected)


@pytest.mark.parametrize(("pattern", "expected"), [
    ("/", None),
    ("/./", None),
    ("", []),
    ("/home/u", []),
    ("/home/user", ["home/user/.profile", "home/user/.bashrc"]),
    ("/etc", ["etc/server/config", "etc/server/hosts"]),
    ("///etc//////", ["etc/server/config", "etc/server/hosts"]),
    ("/./home//..//home/user2", ["home/user2/.profile", "home/user2/public_html/index.html"]),
    ("/srv", ["srv/messages", "srv/dmesg"]),
])
def test_patterns_prefix(pattern, expected):
    files = [
        "etc/server/config", "etc/server/hosts", "home", "home/user/.profile", "home/user/.bashrc",
        "home/user2/.profile", "home/user2/public_html/index.html", "srv/messages", "srv/dmesg",
    ]
    check_patterns(files, make_pattern("pp", pattern), expected)


@pytest.mark.parametrize(("pattern", "expected"), [
    ("", []),
    ("foo", []),
    ("relative", ["relative/path1", "relative/two"]),
    ("more", ["more/relative"]),
])
def test_patterns_prefix_relative(pattern, expected):
    check_patterns(["relative/path1", "relative/two", "more/relative"],
                   make_pattern("pp", pattern), expected)


@pytest.mark.parametrize(("pattern", "expected"), [
    ("/*", None),
    ("/./*", None),
    ("*", None),
    ("*/*",
     ["etc/server/config", "etc/server/hosts", "home/user/.profile", "home/user/.bashrc",
      "home/user2/.profile", "home/user2/public_html/index.html", "srv/messages", "srv/dmesg",
      "home/foo/.thumbnails", "home/foo/bar/.thumbnails"]),
    ("*///*",
     ["etc/server/config", "etc/server/hosts", "home/user/.profile", "home/user/.bashrc",
      "home/user2/.profile", "home/user2/public_html/index.html", "srv/messages", "srv/dmesg",
      "home/foo/.thumbnails", "home/foo/bar/.thumbnails"]),
    ("/home/u", []),
    ("/home/*",
     ["home/user/.profile", "home/user/.bashrc", "home/user2/.profile", "home/user2/public_html/index.html",
      "home/foo/.thumbnails", "home/foo/bar/.thumbnails"]),
    ("/home/user/*", ["home/user/.profile", "home/user/.bashrc"]),
    ("/etc/*", ["etc/server/config", "etc/server/hosts"]),
    ("*/.pr????e", ["home/user/.profile", "home/user2/.profile"]),
    ("///etc//////*", ["etc/server/config", "etc/server/hosts"]),
    ("/./home//..//home/user2/*", ["home/user2/.profile", "home/user2/public_html/index.html"]),
    ("/srv*", ["srv/messages", "srv/dmesg"]),
    ("/home/*/.thumbnails", ["home/foo/.thumbnails", "home/foo/bar/.thumbnails"]),
])
def test_patterns_fnmatch(pattern, expected):
    files = [
        "etc/server/config", "etc/server/hosts", "home", "home/user/.profile", "home/user/.bashrc",
        "home/user2/.profile", "home/user2/public_html/index.html", "srv/messages", "srv/dmesg",
        "home/foo/.thumbnails", "home/foo/bar/.thumbnails",
    ]
    check_patterns(files, make_pattern("fm", pattern), expected)


@pytest.mark.parametrize(("pattern", "expected"), [
    ("*", None),
    ("**/*", None),
    ("/**/*", None),
    ("/./*", None),
    ("*/*",
     ["etc/server/config", "etc/server/hosts", "home/user/.profile", "home/user/.bashrc",
      "home/user2/.profile", "home/user2/public_html/index.html", "srv/messages", "srv/dmesg",
      "srv2/blafasel", "home/foo/.thumbnails", "home/foo/bar/.thumbnails"]),
    ("*///*",
     ["etc/server/config", "etc/server/hosts", "home/user/.profile", "home/user/.bashrc",
      "home/user2/.profile", "home/user2/public_html/index.html", "srv/messages", "srv/dmesg",
      "srv2/blafasel", "home/foo/.thumbnails", "home/foo/bar/.thumbnails"]),
    ("/home/u", []),
    ("/home/*",
     ["home/user/.profile", "home/user/.bashrc", "home/user2/.profile", "home/user2/public_html/index.html",
      "home/foo/.thumbnails", "home/foo/bar/.thumbnails"]),
    ("/home/user/*", ["home/user/.profile", "home/user/.bashrc"]),
    ("/etc/*/*", ["etc/server/config", "etc/server/hosts"]),
    ("/etc/**/*", ["etc/server/config", "etc/server/hosts"]),
    ("/etc/**/*/*", ["etc/server/config", "etc/server/hosts"]),
    ("*/.pr????e", []),
    ("**/.pr????e", ["home/user/.profile", "home/user2/.profile"]),
    ("///etc//////*", ["etc/server/config", "etc/server/hosts"]),
    ("/./home//..//home/user2/", ["home/user2/.profile", "home/user2/public_html/index.html"]),
    ("/./home//..//home/user2/**/*", ["home/user2/.profile", "home/user2/public_html/index.html"]),
    ("/srv*/", ["srv/messages", "srv/dmesg", "srv2/blafasel"]),
    ("/srv*", ["srv", "srv/messages", "srv/dmesg", "srv2", "srv2/blafasel"]),
    ("/srv/*", ["srv/messages", "srv/dmesg"]),
    ("/srv2/**", ["srv2", "srv2/blafasel"]),
    ("/srv2/**/", ["srv2/blafasel"]),
    ("/home/*/.thumbnails", ["home/foo/.thumbnails"]),
    ("/home/*/*/.thumbnails", ["home/foo/bar/.thumbnails"]),
])
def test_patterns_shell(pattern, expected):
    files = [
        "etc/server/config", "etc/server/hosts", "home", "home/user/.profile", "home/user/.bashrc",
        "home/user2/.profile", "home/user2/public_html/index.html", "srv", "srv/messages", "srv/dmesg",
        "srv2", "srv2/blafasel", "home/foo/.thumbnails", "home/foo/bar/.thumbnails",
    ]
    check_patterns(files, make_pattern("sh", pattern), expected)


@pytest.mark.parametrize(("pattern", "expected"), [
    ("", None),
    (".*", None),
    ("^/", None),
    ("^abc$", []),
    ("^[^/]", []),
    ("^(?!/srv|/foo|/opt)",
     ["/home", "/home/user/.profile", "/home/user/.bashrc", "/home/user2/.profile",
      "/home/user2/public_html/index.html", "/home/foo/.thumbnails", "/home/foo/bar/.thumbnails", ]),
])
def test_patterns_regex(pattern, expected):
    files = [
        '/srv/data', '/foo/bar', '/home',
        '/home/user/.profile', '/home/user/.bashrc',
        '/home/user2/.profile', '/home/user2/public_html/index.html',
        '/opt/log/messages.txt', '/opt/log/dmesg.txt',
        "/home/foo/.thumbnails", "/home/foo/bar/.thumbnails",
    ]
    obj = make_pattern("re", pattern)
    assert obj.original == pattern
    assert obj.prepared == pattern
    check_patterns(files, obj, expected)


def test_regex_pattern():
    assert make_pattern("re", "^/$").match("/")
    assert not make_pattern("re", r"^\\$").match("/")


def _make_test_patterns(pattern):
    return [make_pattern("pp", pattern), make_pattern("fm", pattern),
            make_pattern("re", f"^{pattern}/foo$"), make_pattern("sh", pattern)]


# borg normalises to NFD on darwin only: on Linux a composed and a decomposed name differ
@pytest.mark.parametrize("pattern", _make_test_patterns("b\N{LATIN SMALL LETTER A WITH ACUTE}"))
def test_composed_unicode_pattern(pattern):
    assert pattern.match("b\N{LATIN SMALL LETTER A WITH ACUTE}/foo")
    assert not pattern.match("ba\N{COMBINING ACUTE ACCENT}/foo")


@pytest.mark.parametrize("pattern", _make_test_patterns("ba\N{COMBINING ACUTE ACCENT}"))
def test_decomposed_unicode_pattern(pattern):
    assert not pattern.match("b\N{LATIN SMALL LETTER A WITH ACUTE}/foo")
    assert pattern.match("ba\N{COMBINING ACUTE ACCENT}/foo")


@pytest.mark.parametrize("pattern", _make_test_patterns(str(b"ba\x80", "latin1")))
def test_invalid_unicode_pattern(pattern):
    assert not pattern.match("ba/foo")
    assert pattern.match(str(b"ba\x80/foo", "latin1"))


@pytest.mark.parametrize(("lines", "expected"), [
    ([], None),
    (["# Comment only"], None),
    (["*"], []),
    (["# Comment",
      "*/something00.txt",
      "  *whitespace*  ",
      " #/ws*",
      "",
      "# EOF"],
     ["more/data", "home", " #/wsfoobar"]),
    ([r"re:.*"], []),
    ([r"re:\s"], ["data/something00.txt", "more/data", "home"]),
    ([r"re:(.)(\1)"], ["more/data", "home", "\tstart/whitespace", "whitespace/end\t"]),
    (["", "", "",
      "# This is a test with mixed pattern styles",
      r"re:(?i)BAR|ME$",
      "",
      "*whitespace*",
      "fm:*/something00*"],
     ["more/data"]),
    ([r"  re:^\s  "], ["data/something00.txt", "more/data", "home", "whitespace/end\t"]),
    ([r"  re:\s$  "], ["data/something00.txt", "more/data", "home", " #/wsfoobar", "\tstart/whitespace"]),
    (["pp:./"], None),
    (["pp:/"], []),
    (["pp:aaabbb"], None),
    (["pp:/data", "pp: #/", "pp:\tstart", "pp:/whitespace"], ["more/data", "home"]),
    (["/nomatch", "/more/*"],
     ['data/something00.txt', 'home', ' #/wsfoobar', '\tstart/whitespace', 'whitespace/end\t']),
    (["/more/*", "/nomatch"],
     ['data/something00.txt', 'home', ' #/wsfoobar', '\tstart/whitespace', 'whitespace/end\t']),
])
def test_exclude_patterns_from_file(lines, expected):
    files = ['data/something00.txt', 'more/data', 'home', ' #/wsfoobar', '\tstart/whitespace',
             'whitespace/end\t']
    # borg reads the file's lines with their newline; clean_lines strips it
    matcher = PatternMatcher(load_exclude_lines(line + "\n" for line in lines), fallback=True)
    assert [p for p in files if matcher.match(p)] == (files if expected is None else expected)


@pytest.mark.parametrize(("lines", "expected_roots", "expected_numpatterns"), [
    ([], [], 0),
    (["# Comment only"], [], 0),
    (["- *"], [], 1),
    (["+fm:*/something00.txt", "-/data"], [], 2),
    (["R /"], ["/"], 0),
    (["R /", "# comment"], ["/"], 0),
    (["# comment", "- /data", "R /home"], ["/home"], 1),
])
def test_load_patterns_from_file(lines, expected_roots, expected_numpatterns):
    loaded = load_pattern_lines(lines)
    assert loaded.roots == expected_roots
    assert len(loaded.rules) == expected_numpatterns


def test_switch_patterns_style():
    patterns = """\
        +0_initial_default_is_shell
        p fm
        +1_fnmatch
        P re
        +2_regex
        +3_more_regex
        P pp
        +4_pathprefix
        p fm
        p sh
        +5_shell
    """
    rules = load_pattern_lines(patterns.splitlines()).rules
    assert [r.pattern.style for r in rules] == ["sh", "fm", "re", "re", "pp", "sh"]


@pytest.mark.parametrize("lines", [["X /data"], ["/data"]])
def test_load_invalid_patterns_from_file(lines):
    with pytest.raises(BorgPatternError):
        load_pattern_lines(lines)


@pytest.mark.parametrize(("lines", "expected"), [
    ([], None),
    (["# Comment only"], None),
    (["- *"], []),
    (["-*/something0?.txt"],
     ['data', 'data/subdir/something01.txt', 'home', 'home/leo', 'home/leo/t', 'home/other']),
    (["-fm:*/something00.txt"],
     ['data', 'data/subdir/something01.txt', 'home', 'home/leo', 'home/leo/t', 'home/other']),
    (["-fm:*/something0?.txt"],
     ["data", 'home', 'home/leo', 'home/leo/t', 'home/other']),
    (["+/*/something0?.txt", "-/data"],
     ["data/something00.txt", 'home', 'home/leo', 'home/leo/t', 'home/other']),
    (["+fm:*/something00.txt", "-/data"],
     ["data/something00.txt", 'home', 'home/leo', 'home/leo/t', 'home/other']),
    (["+/home/leo", "-/home/*"],
     ['data', 'data/something00.txt', 'data/subdir/something01.txt', 'home', 'home/leo', 'home/leo/t']),
    (["-/home/*", "+/home/leo"],
     ['data', 'data/something00.txt', 'data/subdir/something01.txt', 'home']),
    (["+fm:/home/leo", "-/home/"],
     ['data', 'data/something00.txt', 'data/subdir/something01.txt', 'home', 'home/leo', 'home/leo/t']),
])
def test_inclexcl_patterns_from_file(lines, expected):
    files = ['data', 'data/something00.txt', 'data/subdir/something01.txt', 'home', 'home/leo',
             'home/leo/t', 'home/other']
    matcher = PatternMatcher(load_pattern_lines(lines).rules, fallback=True)
    assert [p for p in files if matcher.match(p)] == (files if expected is None else expected)


@pytest.mark.parametrize(("pattern", "style"), [
    ("", "fm"), ("*", "fm"), ("/data/*", "fm"),
    ("fm:", "fm"), ("fm:*", "fm"), ("fm:/data/*", "fm"), ("fm:fm:/data/*", "fm"),
    ("re:", "re"), ("re:.*", "re"), ("re:^/something/", "re"), ("re:re:^/something/", "re"),
    ("pp:", "pp"), ("pp:/", "pp"), ("pp:/data/", "pp"), ("pp:pp:/data/", "pp"),
    ("sh:", "sh"), ("sh:*", "sh"), ("sh:/data/*", "sh"), ("sh:sh:/data/*", "sh"),
])
def test_parse_pattern(pattern, style):
    assert parse_pattern(pattern).style == style


@pytest.mark.parametrize("pattern", ["aa:", "fo:*", "00:", "x1:abc"])
def test_parse_pattern_error(pattern):
    with pytest.raises(ValueError, match="Unknown pattern style"):
        parse_pattern(pattern)


def test_pattern_matcher_first_match_and_fallback():
    # test_pattern_matcher's order and fallback, with include/exclude as the commands
    assert PatternMatcher().match("foo") is None
    pm = PatternMatcher(load_pattern_lines(["+re:^a", "-re:^b", "-re:^z", "+re:^$"]).rules,
                        fallback=None)
    assert [pm.match(p) for p in ("", "aaa", "bbb", "ccc", "z")] == [True, True, False, None, False]


# shellpattern.py: test_match, test_mismatch, test_match_end
@pytest.mark.parametrize(("path", "patterns"), [
    ("foo/bar", ["foo/bar"]),
    ("foo\\bar", ["foo\\bar"]),
    ("foo/c/\u0152/e/bar", ["foo/*/\u0152/*/bar", "*/*/\u0152/*/*", "**/\u0152/*/*"]),
    ("\u00e4\u00f6\u00dc", ["???", "*", "\u00e4\u00f6\u00dc", "[\u00e4][\u00f6][\u00dc]"]),
    ("foo", ["fo?"]), ("foo", ["f?o"]), ("foo", ["f??"]), ("foo", ["?oo"]), ("foo", ["?o?"]),
    ("foo", ["??o"]), ("foo", ["???"]),
    ("", ["*"]),
    ("foo", ["*", "**", "***"]),
    ("foo", ["foo*"]), ("foobar", ["foo*"]), ("foobar", ["foo*bar"]), ("foobarbaz", ["foo*baz"]),
    ("bar", ["*bar"]), ("foobar", ["*bar"]), ("foo/bar", ["foo/*bar"]), ("foo/bar", ["foo/*ar"]),
    ("foo/bar", ["foo/*r"]), ("foo/bar", ["foo/*"]), ("foo/bar", ["foo*/bar"]),
    ("foo/bar", ["fo*/bar"]), ("foo/bar", ["f*/bar"]), ("foo/bar", ["*/bar"]),
    ("foo/bar", ["foo/**/bar"]), ("foo/1/bar", ["foo/**/bar"]), ("foo/1/22/333/bar", ["foo/**/bar"]),
    ("foo/", ["foo/**/"]), ("foo/1/", ["foo/**/"]), ("foo/1/22/333/", ["foo/**/"]),
    ("bar", ["**/bar"]), ("1/bar", ["**/bar"]), ("1/22/333/bar", ["**/bar"]),
    ("foo/bar/baz", ["foo/**/*"]),
    ("foo1", ["foo[12]"]), ("foo2", ["foo[12]"]), ("foo2/bar", ["foo[12]/*"]),
    ("f??f", ["f??f", "f[?][?]f"]), ("foo]", ["foo[]]"]),
    ("foo3", ["foo[!12]"]), ("foo^", ["foo[^!]"]), ("foo!", ["foo[^!]"]),
])
def test_shell_match(path, patterns):
    import re
    for p in patterns:
        assert re.match(shell_translate(p), path)


@pytest.mark.parametrize(("path", "patterns"), [
    ("", ["?", "[]"]),
    ("foo", ["foo?"]), ("foo", ["?foo"]), ("foo", ["f?oo"]),
    ("foo/ar", ["foo?ar"]),
    ("foo/bar", ["*"]), ("foo/bar", ["foo*bar"]), ("foo/bar", ["foo*ar"]), ("foo/bar", ["fo*bar"]),
    ("foo/bar", ["fo*ar"]),
    ("foobar", ["foo/**/bar"]),
    ("foo/bar", ["**"]),
    ("foo/bar", ["**/"]),
    ("foo3", ["foo[12]"]),
    ("foo1", ["foo[!12]"]), ("foo2", ["foo[!12]"]),
])
def test_shell_mismatch(path, patterns):
    import re
    for p in patterns:
        assert not re.match(shell_translate(p), path)


def test_shell_match_end():
    import re
    regex = shell_translate("*-home")
    assert re.match(regex, '2017-07-03-home')
    assert not re.match(regex, '2017-07-03-home.checkpoint')


# borg create's walk (archiver.py _rec_walk, 1.2.4 and 1.4.0)
TREE = {
    "/flux/active": "d", "/flux/active/a.txt": "f", "/flux/active/render.tmp": "d",
    "/flux/active/render.tmp/frame.bin": "f", "/flux/active/cache": "d",
    "/flux/active/cache/CACHEDIR.TAG": "f", "/flux/active/cache/blob": "f",
    "/flux/active/proj": "d", "/flux/active/proj/.nobackup": "f", "/flux/active/proj/x.bin": "f",
    "/flux/active/proj/sub": "d", "/flux/active/proj/sub/y.bin": "f",
}


def _walk(path, excludes=(), caches=False, present=(), keep=False):
    matcher = PatternMatcher((parse_exclude(e) for e in excludes), fallback=True)
    children = lambda d: [p.rsplit("/", 1)[1] for p in TREE if p.rsplit("/", 1)[0] == d]  # noqa: E731
    return create_excluded(path, "/flux/active", matcher, lambda p: TREE.get(p) == "d",
                           tags_from_names(children, caches, present), keep)


def kept(**options):
    return [p for p in TREE if not _walk(p, **options)]


def test_an_excluded_directory_is_not_descended_into():
    # fm's * crosses /: *.tmp takes the directory and (not walked) all below it
    assert kept(excludes=["*.tmp"]) == [p for p in TREE if "render.tmp" not in p]
    # sh:**/cache matches the directory; what is below it is never looked at
    assert "/flux/active/cache/blob" not in kept(excludes=["sh:**/cache"])
    # pf: matches the directory only, and borg does not descend into it
    assert not [p for p in kept(excludes=["pf:/flux/active/proj"]) if "/proj" in p]
    # a trailing slash: what is below, not the directory itself
    assert [p for p in kept(excludes=["/flux/active/proj/"]) if "/proj" in p] == ["/flux/active/proj"]


def test_patterns_match_without_the_leading_slash():
    assert kept(excludes=["re:^/flux"]) == list(TREE)
    assert "/flux/active/a.txt" not in kept(excludes=["re:^flux/active/a\\.txt$"])
    assert "/flux/active/a.txt" not in kept(excludes=["pp:flux/active/a.txt"])
    assert borg_excluded("/flux/active/a.txt", ["/flux/active/a.txt"], root="/flux/active")
    assert not borg_excluded("/flux/active/a.txt", ["/flux/active/a.tx"], root="/flux/active")


def test_exclude_caches_and_if_present():
    assert [p for p in kept(caches=True) if "/cache" in p] == []
    assert [p for p in kept(present=[".nobackup"]) if "/proj" in p] == []
    # --keep-exclude-tags: the directory and its tag, nothing else
    assert [p for p in kept(caches=True, present=[".nobackup"], keep=True)
            if "/cache" in p or "/proj" in p] == [
        "/flux/active/cache", "/flux/active/cache/CACHEDIR.TAG", "/flux/active/proj",
        "/flux/active/proj/.nobackup"]
    # a tag file an exclude pattern matches is not kept even with --keep-exclude-tags
    assert "/flux/active/proj/.nobackup" not in kept(excludes=["*/.nobackup"], present=[".nobackup"],
                                                     keep=True)
    assert CACHE_TAG_NAME == "CACHEDIR.TAG"


def test_a_pattern_borg_refuses_is_refused():
    with pytest.raises(BorgPatternError):
        parse_exclude("re:(")
    with pytest.raises(BorgPatternError):
        parse_exclude("xx:foo")


# the drill's side: tags asked of a real shell (local://), the tree hashed as a drill hashes it
def test_the_restore_comparison_leaves_out_what_borg_create_leaves_out(tmp_path):
    from backup_drills.adapters.borg import borg_left_out, borg_tagged
    from backup_drills.core.transport import Remote
    from backup_drills.inventory.schema import Host, Job
    from backup_drills.restores.manifest import hash_tree

    source = tmp_path / "flux active"
    for rel, body in {"keep/a.txt": b"a", "render.tmp/f.bin": b"f", "cache/blob": b"b",
                      "cache/CACHEDIR.TAG": CACHE_TAG_CONTENTS + b"\n# a cache\n",
                      "fake/CACHEDIR.TAG": b"Signature: not borg's", "fake/blob": b"b",
                      "proj/.nobackup": b"", "proj/x.bin": b"x", "linked/y.bin": b"y",
                      "dangling/z.bin": b"z", "odd[*]/.no?backup": b"", "odd[*]/w": b"w",
                      "scratch/tmp/t.bin": b"t", "scratch/keep.bin": b"k"}.items():
        (source / rel).parent.mkdir(parents=True, exist_ok=True)
        (source / rel).write_bytes(body)
    (source / "linked/.nobackup").symlink_to(source / "keep/a.txt")
    (source / "dangling/.nobackup").symlink_to(source / "nowhere")
    remote = Remote(Host(name="h", transport="local://", scratch=str(tmp_path / "s")), timeout=60)
    job = Job(name="j", host="h", kind="borg", source=str(source), repository="/r", rpo="1d", rto="1h",
              excludes=("*.tmp", "sh:**/scratch/tmp"), exclude_caches=True,
              exclude_if_present=(".nobackup", ".no?backup"))
    tagged = borg_tagged(remote, job)
    assert tagged == {f"{source}/cache": ["CACHEDIR.TAG"], f"{source}/proj": [".nobackup"],
                      f"{source}/linked": [".nobackup"], f"{source}/odd[*]": [".no?backup"]}
    manifest = hash_tree(remote, str(source))
    left_out = borg_left_out(job, "h", lambda r: e.kind if (e := manifest.entries.get(r)) else None,
                             tagged)
    assert sorted(p for p in manifest.entries if not left_out(p)) == [
        "dangling", "dangling/.nobackup", "dangling/z.bin", "fake", "fake/CACHEDIR.TAG",
        "fake/blob", "keep", "keep/a.txt", "scratch", "scratch/keep.bin"]
