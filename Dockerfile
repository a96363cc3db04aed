# syntax=docker/dockerfile:1
# Container image of Levee: one image for `levee serve` (the default), `levee gateway` and
# `levee cluster`. Build it from the repository root:
#
#   docker build -t levee:dev .
#   docker run --rm -p 8000:8000 levee:dev
#   docker run --rm -p 8000:8000 levee:dev gateway --nodes dns:node:8000
#
# tests/deploy/image_layout.py reads this file: it copies what the runtime stage copies into a
# temporary folder and runs the ENTRYPOINT and CMD from there, so keep the COPY, ENV, USER,
# WORKDIR, ENTRYPOINT and CMD lines of the runtime stage in the plain forms it parses.

FROM eclipse-temurin:25-jdk AS build
WORKDIR /src
COPY . .
# The same build as ./levee runs, limited to levee-cli and the modules it needs. The cache mount
# keeps the Maven distribution and the libraries between builds; it needs BuildKit, the default
# builder of Docker Engine 23.0 and later.
RUN --mount=type=cache,target=/root/.m2 \
    ./mvnw -B -q -Dmaven.test.skip=true -pl levee-cli -am package

# The JRE image is Ubuntu with glibc. The Alpine variants cannot run the ONNX Runtime and
# tokenizer libraries, which are built against glibc.
FROM eclipse-temurin:25-jre AS runtime
RUN groupadd --system --gid 10001 levee \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin levee

# levee.jar names its libraries in its manifest's Class-Path as lib/*.jar, so the two folders keep
# the layout of levee-cli/target. The libraries come first: they change less often than the jar,
# so their layer is reused. The files stay owned by root, so the server cannot rewrite its own code.
COPY --from=build /src/levee-cli/target/lib/ /opt/levee/lib/
COPY --from=build /src/levee-cli/target/levee.jar /opt/levee/levee.jar

# The tokenizer library (DJL) unpacks its native code into this folder; by default it would pick
# a folder under the home folder, which the levee user does not have. ONNX Runtime unpacks its
# native code into java.io.tmpdir, /tmp. So the server writes only under /tmp, and the root file
# system can be mounted read-only with a writable /tmp.
ENV DJL_CACHE_DIR=/tmp/djl

USER 10001:10001
WORKDIR /tmp

# 8000 serves REST over HTTP/1.1 and HTTP/2, and gRPC, for both `serve` and `gateway`.
EXPOSE 8000

# The same java flags as ./levee, plus two for containers (docs/decisions.md, "Packaging"):
# - MaxRAMPercentage=50: the heap gets half of the container's memory limit, because ONNX Runtime
#   keeps the models' weights and its buffers in native memory outside the heap;
# - ExitOnOutOfMemoryError: a JVM out of heap exits, so the orchestrator restarts it, instead of
#   serving on with threads that died.
# G1 is named because the JVM picks the serial collector when it sees fewer than 2 CPUs or less
# than 1792 MB, as in a small container. java runs as PID 1 and receives SIGTERM itself, which
# starts the node's drain.
ENTRYPOINT ["java", "--enable-native-access=ALL-UNNAMED", "-XX:+UseG1GC", "-XX:MaxRAMPercentage=50", "-XX:+ExitOnOutOfMemoryError", "-jar", "/opt/levee/levee.jar"]
CMD ["serve"]
