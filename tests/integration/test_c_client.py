"""Build tests/integration/c_client/zk_client_test.c with gcc against
libzookeeper_mt 3.8 and run it against the target server. The program
prints one PASS/FAIL line per check and "N passed, M failed"."""
import os
import re
import shutil
import subprocess

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(HERE, "c_client", "zk_client_test.c")


@pytest.fixture(scope="module")
def c_binary(tmp_path_factory):
    if not os.path.exists("/usr/include/zookeeper/zookeeper.h"):
        pytest.skip("libzookeeper-mt-dev is not installed")
    gcc = shutil.which("gcc") or shutil.which("cc")
    if not gcc:
        pytest.skip("no C compiler")
    out = str(tmp_path_factory.mktemp("c_client") / "zk_client_test")
    r = subprocess.run([gcc, "-O1", "-g", "-Wall", "-DTHREADED", "-o", out, SRC,
                        "-lzookeeper_mt", "-lpthread"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, "build failed:\n" + r.stdout + r.stderr
    return out


def test_c_client(c_binary, server):
    r = subprocess.run([c_binary, server.hosts], capture_output=True, text=True, timeout=90)
    out = r.stdout
    failed = [l for l in out.splitlines() if l.startswith("FAIL")]
    m = re.search(r"^(\d+) passed, (\d+) failed$", out, re.M)
    assert m, "no summary line; rc=%d\nstdout:\n%s\nstderr:\n%s" % (r.returncode, out, r.stderr[-3000:])
    assert int(m.group(2)) == 0 and not failed and r.returncode == 0, \
        "C client checks failed (rc=%d):\n%s\n\nfull output:\n%s\nstderr:\n%s" % (
            r.returncode, "\n".join(failed), out, r.stderr[-3000:])
    assert int(m.group(1)) >= 80
