# Builds a BPF program into a libbpf skeleton header:
#   vmlinux.h (bpftool btf dump) -> clang -target bpf (CO-RE) -> bpftool gen object -> gen skeleton
# stepseal_bpf_skeleton(<target> <file.bpf.c>) creates an INTERFACE library <target> whose include
# directory holds <name>.skel.h.
find_program(CLANG_BPF NAMES clang-14 clang REQUIRED)
find_program(BPFTOOL NAMES bpftool PATHS /usr/sbin /usr/local/sbin REQUIRED)

set(STEPSEAL_VMLINUX_BTF /sys/kernel/btf/vmlinux CACHE FILEPATH "BTF of the target kernel")
set(BPF_OUT ${CMAKE_BINARY_DIR}/bpf)
file(MAKE_DIRECTORY ${BPF_OUT})

add_custom_command(OUTPUT ${BPF_OUT}/vmlinux.h
  COMMAND ${BPFTOOL} btf dump file ${STEPSEAL_VMLINUX_BTF} format c > ${BPF_OUT}/vmlinux.h
  COMMENT "Generating vmlinux.h from ${STEPSEAL_VMLINUX_BTF}" VERBATIM)
# One target owns vmlinux.h. Without it, every skeleton target that lists the file as a
# dependency would get its own copy of the rule, and a parallel build would run it twice at once,
# both writing the same file.
add_custom_target(stepseal_vmlinux_h DEPENDS ${BPF_OUT}/vmlinux.h)

function(stepseal_bpf_skeleton target src)
  get_filename_component(name ${src} NAME_WE)
  file(GLOB bpf_headers ${CMAKE_SOURCE_DIR}/bpf/*.h ${CMAKE_SOURCE_DIR}/include/stepseal/*.h)
  set(obj ${BPF_OUT}/${name}.tmp.o)
  set(lobj ${BPF_OUT}/${name}.bpf.o)
  set(skel ${BPF_OUT}/${name}.skel.h)
  add_custom_command(OUTPUT ${lobj}
    COMMAND ${CLANG_BPF} -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_x86 -D__BPF__
            -I${BPF_OUT} -I${CMAKE_SOURCE_DIR}/include -I${CMAKE_SOURCE_DIR}/bpf
            -Wall -Wno-unused-function -c ${src} -o ${obj}
    COMMAND ${BPFTOOL} gen object ${lobj} ${obj}
    DEPENDS ${src} ${bpf_headers} ${BPF_OUT}/vmlinux.h
    COMMENT "BPF ${name}" VERBATIM)
  add_custom_command(OUTPUT ${skel}
    COMMAND ${BPFTOOL} gen skeleton ${lobj} name ${name}_bpf > ${skel}
    DEPENDS ${lobj} COMMENT "BPF skeleton ${name}.skel.h" VERBATIM)
  add_custom_target(${target}_gen DEPENDS ${skel})
  add_dependencies(${target}_gen stepseal_vmlinux_h)
  add_library(${target} INTERFACE)
  add_dependencies(${target} ${target}_gen)
  target_include_directories(${target} INTERFACE ${BPF_OUT})
endfunction()
