#!/usr/bin/env python3
import struct, sys
# Marks a version requirement (e.g. GLIBCXX_3.4.32) weak in an ELF64 little-endian shared object's .gnu.version_r.
path, version = sys.argv[1], sys.argv[2].encode()
data = bytearray(open(path, 'rb').read())
shoff, = struct.unpack_from('<Q', data, 0x28)
shentsize, shnum, shstrndx = struct.unpack_from('<HHH', data, 0x3A)
def sh(i):
    return struct.unpack_from('<IIQQQQIIQQ', data, shoff + i * shentsize)
secs = [sh(i) for i in range(shnum)]
SHT_GNU_verneed = 0x6ffffffe
done = 0
for s in secs:
    if s[1] != SHT_GNU_verneed:
        continue
    strtab = secs[s[6]]
    stroff = strtab[4]
    off = s[4]
    while True:
        vn_version, vn_cnt, vn_file, vn_aux, vn_next = struct.unpack_from('<HHIII', data, off)
        a = off + vn_aux
        for _ in range(vn_cnt):
            vna_hash, vna_flags, vna_other, vna_name, vna_next = struct.unpack_from('<IHHII', data, a)
            name = data[stroff + vna_name: data.index(0, stroff + vna_name)]
            if name == version:
                struct.pack_into('<H', data, a + 4, vna_flags | 0x2)
                done += 1
            if vna_next == 0:
                break
            a += vna_next
        if vn_next == 0:
            break
        off += vn_next
open(path, 'wb').write(data)
print(f"{path}: marked {done} requirement(s) of {version.decode()} weak")
