# Runs itmo-sim with a deliberate safety bug (RULE) over 300 seeds and succeeds only when it exits
# non-zero after reporting a failing seed: the simulator must catch every mutation.
execute_process(COMMAND ${SIM} --seeds 300 --first-seed 1 --mutate ${RULE} --fail-fast
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
message("${out}${err}")
if(rc EQUAL 0)
  message(FATAL_ERROR "mutation ${RULE} was NOT detected in 300 seeds")
endif()
# A safety violation names the endpoint ("...: t=12ms endpoint 3 (validator 3): double vote ...");
# liveness failures and aborts do not count as catching the mutation.
if(NOT out MATCHES "FAIL seed [0-9]+ [^\n]*: t=[0-9]+ms endpoint [0-9]+"
   OR NOT out MATCHES "sim: [0-9]+ passed, [1-9][0-9]* failed")
  message(FATAL_ERROR "itmo-sim exited ${rc} without reporting a safety violation")
endif()
