# Writes the man page of sesam-emu from its --help texts: `cmake -DSESAM_EMU=PATH -DOUT=FILE
# -DVERSION=X -P man_page.cmake`. The page is the main help, then each command's help as it
# prints it (preformatted), so the page never disagrees with the program.
execute_process(COMMAND ${SESAM_EMU} --help OUTPUT_VARIABLE main RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${SESAM_EMU} --help failed (${rc})")
endif()

# The commands: the lines of the Subcommands: section that start with two spaces and a name.
string(REGEX REPLACE ".*\nSubcommands:\n" "" listing "${main}")
string(REGEX MATCHALL "\n  [a-z][a-z-]*" names "\n${listing}")
set(commands "")
foreach(name IN LISTS names)
    string(STRIP "${name}" name)
    list(APPEND commands "${name}")
endforeach()

# roff: a backslash is \e, and a line may not start with . or '.
function(roff_text text out)
    string(REPLACE "\\" "\\e" text "${text}")
    string(REGEX REPLACE "(^|\n)([.'])" "\\1\\\\&\\2" text "${text}")
    set(${out} "${text}" PARENT_SCOPE)
endfunction()

string(TIMESTAMP today "%Y-%m-%d" UTC)
roff_text("${main}" main_roff)
set(page ".TH SESAM-EMU 1 \"${today}\" \"sesam-emu ${VERSION}\" \"User Commands\"\n")
string(APPEND page ".SH NAME\nsesam-emu \\- emulate Sesam's side of its microservice protocols, locally and in CI\n")
string(APPEND page ".SH SYNOPSIS\n.B sesam-emu\n.I COMMAND\n[\\fIOPTIONS\\fR]\n")
string(APPEND page ".SH DESCRIPTION\n.nf\n${main_roff}\n.fi\n.SH COMMANDS\n")
foreach(command IN LISTS commands)
    execute_process(COMMAND ${SESAM_EMU} ${command} --help OUTPUT_VARIABLE help RESULT_VARIABLE rc)
    if(NOT rc EQUAL 0)
        message(FATAL_ERROR "${SESAM_EMU} ${command} --help failed (${rc})")
    endif()
    roff_text("${help}" help_roff)
    string(APPEND page ".SS ${command}\n.nf\n${help_roff}\n.fi\n")
endforeach()
string(APPEND page ".SH EXIT STATUS\n0 success, 1 findings (a failed check, a failed spec, a missed threshold), 2 usage or configuration error, 3 the service failed, 4 internal error, 5 no check selected, 130 interrupted.\n")
string(APPEND page ".SH SEE ALSO\nThe README and docs/protocol.md of the sesam-emu repository.\n")
file(WRITE "${OUT}" "${page}")
