// The plan of a declared (cdef) function: how each C parameter and the result cross the
// boundary, decided once at bind time and run by both directions (CFunc calls into wasm, host
// functions called from wasm). Built only through the typed factory `_core.PlanBuilder`.
#pragma once

#include <Python.h>

#include <cstdint>
#include <string>
#include <vector>

#include "wasmffi/marshal.hpp"
#include "wasmffi/types.hpp"

namespace wasmffi::py {

// How a parameter travels. Exported to Python as `_core.Dir` (the one definition both sides use).
enum class Dir : uint8_t { Value, In, Out, InOut };
// How the C result comes back. Exported as `_core.ResultKind`.
enum class ResKind : uint8_t { Void, Value, Sret };

// Limits checked when a plan is built, so the per-call code can use fixed arrays.
inline constexpr size_t kMaxParams = 32;

// One C parameter.
struct DeclParam {
  PyObject* name = nullptr;     // the Python name (str; the C name, `_` appended to a keyword); owned
  PyObject* label = nullptr;    // "fill() argument 'n' (size_t)", for conversion errors; owned
  std::string ctype;            // the C type as spelled, for messages
  Dir dir = Dir::Value;
  // Value: its scalar unit. Buffers: the element's unit; Unsupported for a record element.
  Marshal unit = Marshal::Unsupported;
  uint32_t slot = 0;            // index of its (first) wasm slot
  uint64_t elem_size = 0;       // buffers: bytes per element
  int64_t count = -1;           // N of `T name[N]`; -1 for any length
  bool cstring = false;         // `const char *`: a str is UTF-8 + NUL; bytes pass as they are
  bool byval = false;           // a record by value, through a pointer to a copy
  bool keyword_only = false;    // linked lengths: optional, by keyword, in the short call form
  int length_of = -1;           // on a length: the index of its buffer
  bool length_bytes = false;    // the length counts bytes, not elements
  int length_param = -1;        // on a buffer: the index of its linked length, if any
  int size_is = -1;             // on an unsized buffer: the parameter holding its element count
  bool length_is_result = false;   // the (integer) result counts the elements the call wrote here
  PyObject* record = nullptr;   // the struct class of a record element or single-scalar struct; owned
  PyObject* enum_class = nullptr;  // an IntEnum class for enum values (host direction); owned
};

struct DeclResult {
  ResKind kind = ResKind::Void;
  std::string ctype = "void";   // the C type as spelled, for messages
  Marshal unit = Marshal::Unsupported;
  uint64_t size = 0;            // Sret and single-scalar records: the record's size
  PyObject* record = nullptr;   // struct class (Sret, or a single-scalar record); owned
  PyObject* enum_class = nullptr;  // IntEnum class of an enum result; owned
};

struct DeclPlan {
  std::string name;             // the C function name
  std::string signature;        // the Python call signature, "fill(buf, *, n=None)", for messages
  std::vector<DeclParam> params;
  std::vector<int> positional;  // the short form: C parameters taken positionally, in order
  DeclResult result;
  size_t nslots = 0;            // wasm params (sret included)
  size_t raw_len = 0;           // max(wasm params, wasm results)
  bool has_buffers = false;
  bool has_size_is = false;
  bool has_length_is = false;   // some buffer's written length is the result
  bool is64 = false;            // pointers are i64 (memory64)

  DeclPlan() = default;
  DeclPlan(const DeclPlan&) = delete;
  DeclPlan& operator=(const DeclPlan&) = delete;
  ~DeclPlan();  // releases the owned references (needs the GIL: plans die with Python objects)
};

// The plan inside a `_core.DeclPlan` object (borrowed: valid while `obj` lives), or nullptr with
// a TypeError for anything else.
const DeclPlan* plan_of(PyObject* obj);

}  // namespace wasmffi::py
