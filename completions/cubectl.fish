# fish completion for cubectl(1).
# Nouns, verbs, flags and what their values are come from "cubectl
# __complete", which prints the command table of tui/cmd.c (its format is
# described in tui/complete.c), so this file lists none of them. Names of
# domains, providers, models and tokens come from the agent itself, through
# "cubectl -o json NOUN list" with the connection options already typed;
# when the agent cannot be reached there are simply none.

# The kind of flag $argv[1] in command $argv[2] ("noun verb"), from the
# spec lines in $argv[3..]; empty when it is not a flag there.
function __cubectl_kind
    set -l name $argv[1]
    set -l cmd $argv[2]
    for line in $argv[3..-1]
        set -l f (string split \t -- $line)
        if test (count $f) -eq 7; and contains -- $name $f[4] $f[5]
            if test $f[1] = global; or test "$f[2] $f[3]" = "$cmd"
                echo $f[6]
                return
            end
        end
    end
end

# Print the candidates for a value of kind $argv[1]; $argv[2] is the
# cubectl binary, $argv[3] the domain, $argv[4..] the connection options.
function __cubectl_value
    set -l kind $argv[1]
    switch $kind
        case file
            __fish_complete_path (commandline -ct)
        case 'choice:*'
            string split , -- (string replace choice: '' -- $kind)
        case 'names:*'
            set -l p (string split : -- $kind)
            set -l args $argv[4..-1] -o json $p[2] list
            if test "$p[4]" = -d
                test -n "$argv[3]"; or return
                set args $args -d $argv[3]
            end
            set -l t
            command -sq timeout; and set t timeout 5
            $t $argv[2] $args 2>/dev/null </dev/null |
                string replace -rf '^\t\t"'$p[3]'":\s*"([^"]*)".*' '$1'
    end
end

function __cubectl_complete
    set -l tokens (commandline -opc)
    set -l cur (commandline -ct)
    set -l bin $tokens[1]
    set -l spec ($bin __complete 2>/dev/null </dev/null)
    test (count $spec) -gt 0; or return

    # The noun and verb typed so far, skipping flags and their values, and
    # what the agent's names are fetched with: the connection options
    # given and the domain.
    set -l noun
    set -l cmd
    set -l want
    set -l dom
    set -l conn
    set -l nargs 0
    set -l n (count $tokens)
    set -l i 2
    while test $i -le $n
        set -l w $tokens[$i]
        if string match -qr -- '^-.' $w
            set -l kind (__cubectl_kind $w "$cmd" $spec)
            if test -n "$kind"; and test "$kind" != -
                if test $i -eq $n
                    set want $kind
                    break
                end
                set i (math $i + 1)
                string match -q 'names:domain:*' -- $kind; and set dom $tokens[$i]
                set -l g (__cubectl_kind $w "- -" $spec)
                if test $w != -o; and test "$g" = "$kind"
                    set conn $conn $w $tokens[$i]
                end
            end
        else if test -z "$noun"
            set noun $w
            string match -q -- (printf 'cmd\t%s\t-\t*' $noun) $spec
            and set cmd "$noun -"
        else if test -z "$cmd"
            set cmd "$noun $w"
        else
            set nargs (math $nargs + 1)
        end
        set i (math $i + 1)
    end

    if test -n "$want"
        __cubectl_value $want $bin "$dom" $conn
        return
    end
    for line in $spec
        set -l f (string split \t -- $line)
        test (count $f) -eq 7; or continue
        if string match -q -- '-*' $cur
            if test $f[1] = global; or test $f[1] = flag -a "$f[2] $f[3]" = "$cmd"
                printf '%s\t%s\n' $f[4] $f[7]
                test $f[5] = -; or printf '%s\t%s\n' $f[5] $f[7]
            end
        else if test -z "$noun"
            test $f[1] = noun; and printf '%s\t%s\n' $f[2] $f[7]
        else if test -z "$cmd"
            test $f[1] = cmd -a $f[2] = $noun; and printf '%s\t%s\n' $f[3] $f[7]
        else if test $f[1] = cmd -a "$f[2] $f[3]" = "$cmd" -a $nargs -eq 0
            __cubectl_value $f[6] $bin "$dom" $conn
        end
    end
end

complete -c cubectl -f -a '(__cubectl_complete)'
