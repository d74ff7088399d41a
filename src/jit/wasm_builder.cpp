#include "jit/wasm_builder.h"

#include <algorithm>
#include <cstring>

namespace jf::wasm {
namespace {

enum SectionId : uint8_t { kCustom = 0, kType = 1, kImport = 2, kFunction = 3, kExport = 7, kCode = 10 };
constexpr uint8_t kFuncType = 0x60;
constexpr uint8_t kEmptyBlockType = 0x40;
constexpr uint8_t kExternFunc = 0x00, kExternMemory = 0x02;
constexpr uint8_t kSimdPrefix = 0xfd;
// Limits flags: bit 0 a maximum is present, bit 1 the memory is shared (threads proposal).
constexpr uint8_t kLimitsMax = 0x01, kLimitsShared = 0x02;
// Name section subsections.
constexpr uint8_t kModuleName = 0, kFunctionNames = 1;

struct FuncType {
  std::vector<ValType> params, results;
  bool operator==(const FuncType&) const = default;
};

void write_types(ByteWriter& out, std::span<const ValType> types) {
  out.uleb(types.size());
  for (ValType t : types) out.u8(static_cast<uint8_t>(t));
}

}  // namespace

void ByteWriter::uleb(uint64_t v) {
  do {
    uint8_t byte = v & 0x7f;
    v >>= 7;
    if (v != 0) byte |= 0x80;
    bytes_.push_back(byte);
  } while (v != 0);
}

void ByteWriter::sleb(int64_t v) {
  for (bool more = true; more;) {
    const uint8_t byte = v & 0x7f;
    v >>= 7;  // arithmetic shift: the sign propagates
    // Done when the rest is all sign bits and the sign bit of this byte agrees with them.
    more = !((v == 0 && (byte & 0x40) == 0) || (v == -1 && (byte & 0x40) != 0));
    bytes_.push_back(more ? byte | 0x80 : byte);
  }
}

void ByteWriter::f32(float v) {
  uint32_t bits;
  std::memcpy(&bits, &v, sizeof(bits));
  for (int i = 0; i < 4; ++i) bytes_.push_back(static_cast<uint8_t>(bits >> (8 * i)));
}

void ByteWriter::name(std::string_view s) {
  uleb(s.size());
  bytes_.insert(bytes_.end(), s.begin(), s.end());
}

void ByteWriter::section(uint8_t id, const ByteWriter& contents) {
  u8(id);
  uleb(contents.bytes_.size());
  append(contents.bytes_);
}

uint32_t FunctionBody::local(ValType type) {
  declared_.push_back(type);
  return n_locals_++;
}

void FunctionBody::simd(SimdOp o) {
  code_.u8(kSimdPrefix);
  code_.uleb(static_cast<uint32_t>(o));
}

void FunctionBody::mem(MemOp o, uint32_t offset, uint32_t align_log2) {
  code_.u8(static_cast<uint8_t>(o));
  code_.uleb(align_log2);
  code_.uleb(offset);
}

void FunctionBody::simd_mem(SimdOp o, uint32_t offset, uint32_t align_log2) {
  simd(o);
  code_.uleb(align_log2);
  code_.uleb(offset);
}

void FunctionBody::lane(SimdOp o, uint8_t lane) {
  simd(o);
  code_.u8(lane);
}

void FunctionBody::br(uint32_t depth) {
  code_.u8(0x0c);
  code_.uleb(depth);
}

void FunctionBody::br_if(uint32_t depth) {
  code_.u8(0x0d);
  code_.uleb(depth);
}

void FunctionBody::local_get(uint32_t i) {
  code_.u8(0x20);
  code_.uleb(i);
}

void FunctionBody::local_set(uint32_t i) {
  code_.u8(0x21);
  code_.uleb(i);
}

void FunctionBody::local_tee(uint32_t i) {
  code_.u8(0x22);
  code_.uleb(i);
}

void FunctionBody::i32_const(int32_t v) {
  code_.u8(0x41);
  code_.sleb(v);
}

void FunctionBody::i64_const(int64_t v) {
  code_.u8(0x42);
  code_.sleb(v);
}

void FunctionBody::f32_const(float v) {
  code_.u8(0x43);
  code_.f32(v);
}

void FunctionBody::structured(uint8_t opcode) {
  code_.u8(opcode);
  code_.u8(kEmptyBlockType);
}

std::vector<uint8_t> FunctionBody::finish() const {
  // Locals are declared as runs of one type: (count, type) pairs.
  ByteWriter out;
  std::vector<std::pair<uint32_t, ValType>> runs;
  for (ValType t : declared_) {
    if (!runs.empty() && runs.back().second == t) {
      ++runs.back().first;
    } else {
      runs.emplace_back(1, t);
    }
  }
  out.uleb(runs.size());
  for (const auto& [count, type] : runs) {
    out.uleb(count);
    out.u8(static_cast<uint8_t>(type));
  }
  out.append(code_.bytes());
  out.u8(static_cast<uint8_t>(Op::end));
  return std::move(out.bytes());
}

std::vector<uint8_t> write_module(std::string_view module_name, const MemoryImport& memory,
                                  std::span<const Function> functions) {
  std::vector<FuncType> types;
  std::vector<uint32_t> type_of;
  for (const Function& f : functions) {
    const FuncType t{f.params, f.results};
    auto it = std::find(types.begin(), types.end(), t);
    if (it == types.end()) it = types.insert(types.end(), t);
    type_of.push_back(static_cast<uint32_t>(it - types.begin()));
  }

  ByteWriter module;
  module.append(std::vector<uint8_t>{0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00});  // "\0asm", version 1

  ByteWriter type_section;
  type_section.uleb(types.size());
  for (const FuncType& t : types) {
    type_section.u8(kFuncType);
    write_types(type_section, t.params);
    write_types(type_section, t.results);
  }
  module.section(kType, type_section);

  ByteWriter import_section;
  import_section.uleb(1);
  import_section.name("env");
  import_section.name("memory");
  import_section.u8(kExternMemory);
  import_section.u8(kLimitsMax | (memory.shared ? kLimitsShared : 0));
  import_section.uleb(memory.min_pages);
  import_section.uleb(memory.max_pages);
  module.section(kImport, import_section);

  ByteWriter function_section;
  function_section.uleb(functions.size());
  for (uint32_t t : type_of) function_section.uleb(t);
  module.section(kFunction, function_section);

  ByteWriter export_section;
  const auto n_exports = std::count_if(functions.begin(), functions.end(),
                                       [](const Function& f) { return !f.export_name.empty(); });
  export_section.uleb(static_cast<uint64_t>(n_exports));
  for (size_t i = 0; i < functions.size(); ++i) {
    if (functions[i].export_name.empty()) continue;
    export_section.name(functions[i].export_name);
    export_section.u8(kExternFunc);
    export_section.uleb(i);
  }
  module.section(kExport, export_section);

  ByteWriter code_section;
  code_section.uleb(functions.size());
  for (const Function& f : functions) {
    code_section.uleb(f.body.size());
    code_section.append(f.body);
  }
  module.section(kCode, code_section);

  // The name section: tools (browser devtools, wasm-objdump) show these names in traces and dumps.
  ByteWriter names;
  names.name("name");
  ByteWriter module_name_sub;
  module_name_sub.name(module_name);
  names.section(kModuleName, module_name_sub);
  ByteWriter function_names;
  function_names.uleb(functions.size());
  for (size_t i = 0; i < functions.size(); ++i) {
    function_names.uleb(i);
    function_names.name(functions[i].debug_name);
  }
  names.section(kFunctionNames, function_names);
  module.section(kCustom, names);
  return std::move(module.bytes());
}

}  // namespace jf::wasm
