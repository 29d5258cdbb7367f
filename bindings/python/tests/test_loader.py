"""Finding libvqa: explicit path, VQA_LIBRARY, pkg-config, the soname; the
version check; and the error that says what was tried when nothing works."""
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import unittest
from unittest import mock

import support
import vqa
from vqa import _loader

PROBE = textwrap.dedent("""
    import vqa
    try:
        lib = vqa.load_library()
    except vqa.LibraryError as e:
        print("ERROR", e)
    else:
        print("FOUND", lib.found_by, "|", lib.path, "|", lib.version)
""")


def run_probe(env):
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True,
                         text=True, timeout=60, check=True)
    return out.stdout.strip()


class LoaderTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.library = support.build_path("VQA_LIBRARY")
        cls.libdir = os.path.dirname(cls.library)
        cls.tmp = tempfile.TemporaryDirectory(prefix="vqa-loader-")
        cls.empty = os.path.join(cls.tmp.name, "empty")
        os.mkdir(cls.empty)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def clean_env(self, **extra):
        """The environment with no way to the library but the ones given."""
        env = {k: v for k, v in os.environ.items()
               if k not in ("VQA_LIBRARY", "LD_LIBRARY_PATH", "PKG_CONFIG_PATH")}
        # pkg-config searches PKG_CONFIG_LIBDIR instead of the system's .pc directories.
        env["PKG_CONFIG_LIBDIR"] = self.empty
        env.update(extra)
        return env

    def test_vqa_library_variable(self):
        lib = vqa.load_library()   # meson's test environment sets VQA_LIBRARY
        self.assertEqual(lib.found_by, "VQA_LIBRARY")
        self.assertEqual(os.path.realpath(lib.path), os.path.realpath(self.library))

    def test_explicit_file_and_directory(self):
        by_file = vqa.load_library(self.library)
        self.assertEqual(by_file.found_by, "library argument")
        by_dir = vqa.load_library(self.libdir)   # the directory holding libvqa.so.1
        self.assertEqual(os.path.realpath(by_dir.path),
                         os.path.realpath(os.path.join(self.libdir, "libvqa.so.1")))
        with vqa.Context(library=self.libdir, threads=1) as ctx:
            self.assertIs(ctx.library, by_dir)

    @unittest.skipUnless(shutil.which("pkg-config"), "pkg-config is not installed")
    def test_pkg_config(self):
        pcdir = os.path.join(self.tmp.name, "pkgconfig")
        os.makedirs(pcdir, exist_ok=True)
        with open(os.path.join(pcdir, "libvqa.pc"), "w", encoding="utf-8") as f:
            f.write("libdir=%s\n\nName: libvqa\nDescription: test\nVersion: 1.2.0\n"
                    "Libs: -L${libdir} -lvqa\n" % self.libdir)
        line = run_probe(self.clean_env(PKG_CONFIG_PATH=pcdir))
        self.assertTrue(line.startswith("FOUND pkg-config --variable=libdir libvqa |"), line)
        self.assertIn(os.path.join(self.libdir, "libvqa.so.1"), line)

    def test_soname_through_the_dynamic_loader(self):
        line = run_probe(self.clean_env(LD_LIBRARY_PATH=self.libdir))
        self.assertTrue(line.startswith("FOUND the soname libvqa.so.1"), line)
        path = line.split(" | ")[1]   # where dladdr says it was loaded from
        self.assertEqual(os.path.realpath(path), os.path.realpath(self.library))

    def test_nothing_found_says_what_was_tried(self):
        # Make the last two steps miss even where libvqa is installed system-wide.
        env = {"PKG_CONFIG_LIBDIR": self.empty, "PKG_CONFIG_PATH": ""}
        with mock.patch.dict(os.environ, env), \
                mock.patch.object(_loader, "SONAME", "libvqa-not-here.so.1"), \
                mock.patch("ctypes.util.find_library", return_value=None):
            os.environ.pop("VQA_LIBRARY", None)
            with self.assertRaises(vqa.LibraryError) as caught:
                _loader._search()
        message = str(caught.exception)
        self.assertIn("libvqa was not found", message)
        for step in ("VQA_LIBRARY: not set", "pkg-config", "libvqa-not-here.so.1",
                     "find_library('vqa'): found nothing", "vqa.Context(library=",
                     "PKG_CONFIG_PATH"):
            self.assertIn(step, message)
        self.assertEqual(len(caught.exception.tried), 4)

    def test_nothing_found_in_a_clean_process(self):
        # The same, end to end, unless this machine has libvqa installed system-wide.
        line = run_probe(self.clean_env())
        if line.startswith("FOUND the soname") or line.startswith("FOUND ctypes"):
            self.skipTest("libvqa is installed system-wide: " + line)
        self.assertTrue(line.startswith("ERROR libvqa was not found"), line)
        self.assertIn("VQA_LIBRARY=/path/to/libvqa.so.1", line)

    def test_bad_vqa_library_is_not_silently_replaced(self):
        missing = os.path.join(self.tmp.name, "nowhere", "libvqa.so.1")
        line = run_probe(self.clean_env(VQA_LIBRARY=missing,
                                        LD_LIBRARY_PATH=self.libdir))   # a good one is there
        self.assertTrue(line.startswith("ERROR libvqa could not be loaded from VQA_LIBRARY="),
                        line)
        self.assertIn(missing, line)

    def test_not_libvqa(self):
        good_plugin = os.path.join(support.build_path("VQA_TEST_FIXTURE_PLUGIN_DIR"), "good.so")
        with self.assertRaises(vqa.LibraryError) as caught:
            vqa.load_library(good_plugin)
        self.assertIn("not libvqa", str(caught.exception))
        garbage = os.path.join(support.build_path("VQA_TEST_FIXTURE_PLUGIN_DIR"), "garbage.so")
        with self.assertRaises(vqa.LibraryError) as caught:
            vqa.load_library(garbage)
        self.assertIn(garbage, str(caught.exception))

    def test_version_check(self):
        with self.assertRaises(vqa.LibraryError) as caught:
            vqa.load_library(support.build_path("VQA_TEST_FAKE_OLD"))
        self.assertIn("it is libvqa 1.1.0; this binding needs 1.2", str(caught.exception))
        with self.assertRaises(vqa.LibraryError) as caught:
            vqa.Context(library=support.build_path("VQA_TEST_FAKE_NEXT_MAJOR"))
        self.assertIn("it is libvqa 2.0.0", str(caught.exception))


if __name__ == "__main__":
    unittest.main(verbosity=2)
