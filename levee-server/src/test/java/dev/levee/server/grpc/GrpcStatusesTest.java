package dev.levee.server.grpc;

import static org.assertj.core.api.Assertions.assertThat;

import dev.levee.core.ErrorKind;
import dev.levee.server.rest.HttpStatuses;
import io.vertx.grpc.common.GrpcStatus;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

/** The node's error contract: each error kind with its HTTP status and its gRPC status. */
class GrpcStatusesTest {

    @ParameterizedTest
    @CsvSource({
            "INVALID_ARGUMENT, 400, INVALID_ARGUMENT",
            "NOT_FOUND, 404, NOT_FOUND",
            "PAYLOAD_TOO_LARGE, 413, RESOURCE_EXHAUSTED",
            "UNSUPPORTED_MEDIA_TYPE, 415, INVALID_ARGUMENT",
            "UNAVAILABLE, 503, UNAVAILABLE",
            "OVERLOADED, 503, UNAVAILABLE",
            "DEADLINE_EXCEEDED, 504, DEADLINE_EXCEEDED",
            "INTERNAL, 500, INTERNAL"})
    void mapsEachKindLikeTheContract(ErrorKind kind, int http, GrpcStatus grpc) {
        assertThat(HttpStatuses.of(kind)).isEqualTo(http);
        assertThat(GrpcStatuses.of(kind)).isEqualTo(grpc);
    }

    @ParameterizedTest
    @EnumSource(ErrorKind.class)
    void neverAnswersOkOrUnknown(ErrorKind kind) {
        assertThat(GrpcStatuses.of(kind)).isNotIn(GrpcStatus.OK, GrpcStatus.UNKNOWN);
    }
}
