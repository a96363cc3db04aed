package dev.levee.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** Entry point of the {@code levee} command. */
@Command(
        name = "levee",
        mixinStandardHelpOptions = true,
        version = "levee 0.1.0",
        description = "Serves machine-learning models over the KServe Open Inference Protocol v2.",
        subcommands = {ServeCommand.class, GatewayCommand.class, ClusterCommand.class, LoadTestCommand.class})
public final class Levee implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    public static void main(String[] args) {
        System.exit(new CommandLine(new Levee()).execute(args));
    }
}
