"""restic exclude semantics: the tables of restic's own internal/filter tests (filter_test.go,
matchTests and filterListTests; the Windows-drive rows and native-separator variants left out),
plus the cases an operator meets: a name at any depth, a directory matched by a file pattern."""

import pytest

from backup_drills.core.patterns import restic_excluded, restic_match

MATCH = [
    ("", "", True),
    ("", "foo", True),
    ("", "/x/y/z/foo", True),
    ("*.go", "/foo/bar/test.go", True),
    ("*.c", "/foo/bar/test.go", False),
    ("*", "/foo/bar/test.go", True),
    ("**", "/foo/bar/test.go", True),
    ("foo*", "/foo/bar/test.go", True),
    ("bar*", "/foo/bar/test.go", True),
    ("/bar*", "/foo/bar/test.go", False),
    ("bar/*", "/foo/bar/test.go", True),
    ("baz/*", "/foo/bar/test.go", False),
    ("bar/test.go", "/foo/bar/test.go", True),
    ("bar/*.go", "/foo/bar/test.go", True),
    ("ba*/*.go", "/foo/bar/test.go", True),
    ("bb*/*.go", "/foo/bar/test.go", False),
    ("test.*", "/foo/bar/test.go", True),
    ("tesT.*", "/foo/bar/test.go", False),
    ("bar/*", "/foo/bar/baz", True),
    ("bar", "/foo/bar", True),
    ("/foo/bar", "/foo/bar", True),
    ("/foo/bar/", "/foo/bar", True),
    ("/foo/bar", "/foo/baz", False),
    ("/foo/bar", "/foo/baz/", False),
    ("/foo///bar", "/foo/bar", True),
    ("/foo/../bar", "/foo/bar", False),
    ("/foo/../bar", "/bar", True),
    ("/foo", "/foo/baz", True),
    ("/foo/", "/foo/baz", True),
    ("/foo/*", "/foo", False),
    ("/foo/*", "/foo/baz", True),
    ("bar", "/foo/bar/baz", True),
    ("bar", "/foo/bar/test.go", True),
    ("/foo/*test.*", "/foo/bar/test.go", False),
    ("/foo/*/test.*", "/foo/bar/test.go", True),
    ("/foo/*/bar/test.*", "/foo/bar/test.go", False),
    ("/*/*/bar/test.*", "/foo/bar/test.go", False),
    ("/*/*/bar/test.*", "/foo/bar/baz/test.go", False),
    ("/*/*/baz/test.*", "/foo/bar/baz/test.go", True),
    ("/*/foo/bar/test.*", "/foo/bar/baz/test.go", False),
    ("/*/foo/bar/test.*", "/foo/bar/baz/test.go", False),
    ("/foo/bar/test.*", "bar/baz/test.go", False),
    ("/x/y/bar/baz/test.*", "bar/baz/test.go", False),
    ("/x/y/bar/baz/test.c", "bar/baz/test.go", False),
    ("baz/test.*", "bar/baz/test.go", True),
    ("baz/tesT.*", "bar/baz/test.go", False),
    ("test.go", "bar/baz/test.go", True),
    ("*.go", "bar/baz/test.go", True),
    ("*.c", "bar/baz/test.go", False),
    ("sdk", "/foo/bar/sdk", True),
    ("sdk", "/foo/bar/sdk/test/sdk_foo.go", True),
    ("sdk/*/cpp/*/*vars*.html", "/usr/share/doc/libreoffice/sdk/docs/cpp/ref/a00517.html", False),
    ("foo/**/bar/*.go", "/home/user/foo/work/special/project/bar/test.go", True),
    ("foo/**/bar/*.go", "/home/user/foo/bar/test.go", True),
    ("foo/**/bar/*.go", "x/foo/bar/test.go", True),
    ("foo/**/bar/*.go", "foo/bar/test.go", True),
    ("foo/**/bar/*.go", "foo/bar/baz/bar/test.go", True),
    ("foo/**/bar/*.go", "/home/user/foo/test.c", False),
    ("foo/**/bar/*.go", "bar/foo/main.go", False),
    ("foo/**/bar/*.go", "/foo/bar/main.go", True),
    ("foo/**/bar/*.go", "bar/main.go", False),
    ("foo/**/bar", "/home/user/foo/x/y/bar", True),
    ("foo/**/bar", "/home/user/foo/x/y/bar/main.go", True),
    ("foo/**/bar/**/x", "/home/user/foo/bar/x", True),
    ("foo/**/bar/**/x", "/home/user/foo/blaaa/blaz/bar/shared/work/x", True),
    ("user/**/important*", "/home/user/work/x/y/hidden/x", False),
    ("user/**/hidden*/**/c", "/home/user/work/x/y/hidden/z/a/b/c", True),
]

LIST = [
    ([], "/foo/bar/test.go", False),
    (["*.go"], "/foo/bar/test.go", True),
    (["*.go"], "/foo/bar", False),
    (["*.c"], "/foo/bar/test.go", False),
    (["*.go", "*.c"], "/foo/bar/test.go", True),
    (["*"], "/foo/bar/test.go", True),
    (["x"], "/foo/bar/test.go", False),
    (["?"], "/foo/bar/test.go", False),
    (["?", "x"], "/foo/bar/x", True),
    (["/*/*/bar/test.*"], "/foo/bar/test.go", False),
    (["/*/*/bar/test.*"], "/foo/bar/bar", False),
    (["/*/*/bar/test.*", "*.go"], "/foo/bar/test.go", True),
    (["", "*.c"], "/foo/bar/test.go", False),
    (["!**", "*.go"], "/foo/bar/test.go", True),
    (["!**", "*.c"], "/foo/bar/test.go", False),
    (["/foo/*/test.*", "!*.c"], "/foo/bar/test.c", False),
    (["/foo/*/test.*", "!*.c"], "/foo/bar/test.go", True),
    (["/foo/*/*", "!test.*", "*.c"], "/foo/bar/test.go", False),
    (["/foo/*/*", "!test.*", "*.c"], "/foo/bar/test.c", True),
    (["/foo/*/*", "!test.*", "*.c"], "/foo/bar/file.go", True),
    (["/**/*", "!/foo", "/foo/*", "!/foo/bar"], "/foo/other/test.go", True),
    (["/**/*", "!/foo", "/foo/*", "!/foo/bar"], "/foo/bar", False),
    (["/**/*", "!/foo", "/foo/*", "!/foo/bar"], "/foo/bar/test.go", False),
    (["/**/*", "!/foo", "/foo/*", "!/foo/bar"], "/foo/bar/test.go/child", False),
    (["/**/*", "!/foo", "/foo/*", "!/foo/bar", "/foo/bar/test*"], "/foo/bar/test.go/child", True),
    (["/foo/bar/*"], "/foo", False),
    (["/foo/bar/*", "!/foo/bar/[a-m]*"], "/foo", False),
    (["/foo/**/test.c"], "/foo/bar/foo/bar/test.c", True),
    (["/foo/*/test.c"], "/foo/bar/foo/bar/test.c", False),
]


@pytest.mark.parametrize(("pattern", "path", "matches"), MATCH)
def test_restic_match_table(pattern, path, matches):
    assert restic_match(pattern, path) is matches


@pytest.mark.parametrize(("patterns", "path", "excluded"), LIST)
def test_restic_list_table(patterns, path, excluded):
    assert restic_excluded(path, patterns) is excluded


@pytest.mark.parametrize(
    ("patterns", "path", "excluded"),
    [
        (["cache"], "/flux/project/cache/blob.bin", True),  # a name at any depth, dirs too
        (["cache"], "/flux/project/cached/blob.bin", False),
        (["*.tmp"], "/flux/render.tmp/frame-0001.bin", True),  # a directory matched by *.tmp
        (["docs/*.md"], "/flux/docs/a.md", True),
        (["docs/*.md"], "/flux/docs/sub/keep.md", False),  # * does not cross /
        (["docs/**/*.md"], "/flux/docs/sub/keep.md", True),
        (["/flux/scratch/tmp"], "/flux/scratch/tmp/x", True),  # absolute: anchored
        (["/scratch/tmp"], "/flux/scratch/tmp/x", False),
        (["scratch/tmp"], "/flux/other/scratch/tmp/x", True),
        (["*.log", "!keep.log"], "/flux/logs/keep.log", False),
        (["[^a]*.bin"], "/flux/b.bin", True),
        (["[^a]*.bin"], "/flux/a.bin", False),
        (["na\\*ve"], "/flux/na*ve", True),
        (["na\\*ve"], "/flux/naive", False),
    ],
)
def test_what_operators_write(patterns, path, excluded):
    assert restic_excluded(path, patterns) is excluded
