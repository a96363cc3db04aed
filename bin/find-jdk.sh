# Sourced by the launcher and the test script: sets JAVA_HOME to a JDK 25 or newer, or exits with
# a message that says what is missing. Looks at $JAVA_HOME first, then under /usr/lib/jvm.

levee_required_java=25

levee_java_major() {
    "$1" -XshowSettings:properties -version 2>&1 | awk -F' = ' '/java.specification.version/ {print $2}'
}

levee_find_jdk() {
    local candidate major
    for candidate in "${JAVA_HOME:-}" /usr/lib/jvm/temurin-25-jdk-amd64 /usr/lib/jvm/*; do
        [[ -n "$candidate" && -x "$candidate/bin/java" && -x "$candidate/bin/javac" ]] || continue
        major="$(levee_java_major "$candidate/bin/java")"
        if [[ "$major" =~ ^[0-9]+$ ]] && ((major >= levee_required_java)); then
            echo "$candidate"
            return 0
        fi
    done
    return 1
}

if ! JAVA_HOME="$(levee_find_jdk)"; then
    echo "levee: no JDK $levee_required_java or newer found." >&2
    echo "Looked at \$JAVA_HOME (${JAVA_HOME:-unset}) and /usr/lib/jvm/*." >&2
    echo "Install a JDK $levee_required_java (for example Temurin 25) and set JAVA_HOME to it." >&2
    exit 1
fi
export JAVA_HOME
