package dev.levee.server;

/** The transports a node serves the v2 inference protocol on. */
enum Transport {
    REST_JSON,
    REST_BINARY,
    GRPC;

    /** Opens a client of this transport to the node; gRPC goes to the port shared with REST. */
    ProtocolClient connect(TestNode node) {
        return switch (this) {
            case REST_JSON -> new RestProtocolClient(node, false);
            case REST_BINARY -> new RestProtocolClient(node, true);
            case GRPC -> new GrpcProtocolClient(node.node.port());
        };
    }
}
