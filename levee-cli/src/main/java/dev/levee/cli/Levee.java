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
        CommandLine commandLine = new CommandLine(new Levee());
        // A failure to start (port taken, missing folder, bad model) is reported as its message;
        // the stack trace helps nobody who mistyped a path. LEVEE_DEBUG=1 shows it.
        commandLine.setExecutionExceptionHandler((error, command, parsed) -> {
            command.getErr().println("levee " + command.getCommandName() + ": " + error.getMessage());
            if (System.getenv("LEVEE_DEBUG") != null) {
                error.printStackTrace(command.getErr());
            }
            return 1;
        });
        // A mistyped option is reported as its message and a pointer to --help, not the whole usage,
        // which would push the message off the screen.
        commandLine.setParameterExceptionHandler((error, arguments) -> {
            CommandLine command = error.getCommandLine();
            String name = command.getCommandSpec().qualifiedName();
            command.getErr().println(name + ": " + error.getMessage());
            CommandLine.UnmatchedArgumentException.printSuggestions(error, command.getErr());
            command.getErr().println("Run '" + name + " --help' for the options.");
            return command.getCommandSpec().exitCodeOnInvalidInput();
        });
        System.exit(commandLine.execute(args));
    }
}
