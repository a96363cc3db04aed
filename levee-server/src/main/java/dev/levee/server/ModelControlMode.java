package dev.levee.server;

/** Whether clients may load and unload models through the model repository extension. */
public enum ModelControlMode {
    /** The node loads its models at start and keeps them; load and unload requests are rejected. */
    NONE,
    /** Load and unload requests change which models the node serves, as Triton's explicit mode does. */
    EXPLICIT
}
