# ctest fixture of arch_golden_test: writes the synthetic model MODEL with `jitflow synth` and checks
# that its bytes are those the goldens were made from (GOLDEN: a tokens.json with model_sha256).
#   cmake -DJITFLOW=... -DPRESET=gpt2 -DTYPE=f16 [-DVOCAB=...] -DMODEL=... -DGOLDEN=... -P synth_golden_model.cmake
# VOCAB empty: the preset's generated vocabulary (llama-family test presets).
set(vocab_args)
if(VOCAB)
  set(vocab_args --vocab-from ${VOCAB})
endif()
execute_process(COMMAND ${JITFLOW} synth -p ${PRESET} --type ${TYPE} ${vocab_args} -o ${MODEL} --threads 2
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "jitflow synth -p ${PRESET} --type ${TYPE} failed (${rc})")
endif()
file(SHA256 ${MODEL} got)
file(READ ${GOLDEN} json)
string(JSON want GET "${json}" model_sha256)
if(NOT got STREQUAL want)
  message(FATAL_ERROR "${MODEL}: sha256 ${got}, but the goldens in ${GOLDEN} were made from ${want}: synth's "
                      "output changed; make the goldens again (tests/data/golden/README.md)")
endif()
