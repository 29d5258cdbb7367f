"""The ctypes structs and constants against the C compiler's view of the
headers (abi_layout.c): a header change not mirrored in vqa/_abi.py fails here."""
import ctypes
import json
import subprocess
import unittest

import support
import vqa
from vqa import _abi


def c_layout():
    out = subprocess.run([support.build_path("VQA_TEST_ABI_LAYOUT")], capture_output=True,
                         text=True, check=True, timeout=60)
    return json.loads(out.stdout)


class AbiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.layout = c_layout()

    def test_every_mirrored_struct_is_in_the_c_layout(self):
        self.assertEqual(sorted(s.__name__ for s in _abi.STRUCTS),
                         sorted(self.layout["structs"]))

    def test_struct_sizes_offsets_and_fields(self):
        for struct in _abi.STRUCTS:
            c = self.layout["structs"][struct.__name__]
            with self.subTest(struct=struct.__name__):
                self.assertEqual(ctypes.sizeof(struct), c["size"])
                self.assertEqual(ctypes.alignment(struct), c["align"])
                names = [name for name, _ in struct._fields_]
                self.assertEqual(names, list(c["fields"]))   # same fields, same order
                for name in names:
                    field = getattr(struct, name)
                    self.assertEqual([field.offset, field.size], c["fields"][name], name)

    def test_constants(self):
        constants = self.layout["constants"]
        self.assertGreater(len(constants), 50)
        for name, value in constants.items():
            with self.subTest(constant=name):
                py_name = name[4:] if name.startswith("VQA_") else name
                self.assertEqual(getattr(_abi, py_name), value)

    def test_the_loaded_library_is_the_headers_version(self):
        c = self.layout["constants"]
        expected = (c["API_VERSION_MAJOR"] << 16) | (c["VQA_API_VERSION_MINOR"] << 8) | \
            c["VQA_API_VERSION_PATCH"]
        lib = vqa.load_library()
        self.assertEqual(lib.api_version, expected)
        self.assertEqual(lib.version, "%d.%d.%d" % (c["API_VERSION_MAJOR"],
                                                    c["VQA_API_VERSION_MINOR"],
                                                    c["VQA_API_VERSION_PATCH"]))
        self.assertEqual(vqa.BINDING_API_VERSION[:2], (c["API_VERSION_MAJOR"],
                                                       c["VQA_API_VERSION_MINOR"]))

    def test_named_error_codes_have_the_librarys_text(self):
        lib = vqa.load_library()
        self.assertEqual(lib.strerror(vqa.ERROR_STOPPED), "stopped")
        self.assertEqual(lib.strerror(vqa.ERROR_EOF), "end of stream")
        e = vqa.VqaError(vqa.ERROR_STOPPED, "why", lib.strerror(vqa.ERROR_STOPPED))
        self.assertEqual((e.code, e.reason, e.strerror), (vqa.ERROR_STOPPED, "why", "stopped"))
        self.assertIn("stopped", str(e))


if __name__ == "__main__":
    unittest.main(verbosity=2)
