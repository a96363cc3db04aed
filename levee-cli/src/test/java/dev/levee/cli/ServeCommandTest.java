package dev.levee.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import picocli.CommandLine;

/** Option combinations that {@code levee serve} rejects before it loads any model. */
class ServeCommandTest {

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            --model-control sometimes                              | --model-control: 'sometimes' (expected: none or explicit)
            --model-control explicit                               | --model-control explicit needs --model-repository
            --load-model a                                         | --load-model needs --model-control explicit
            --model-repository /no/such/dir --load-model a         | --load-model needs --model-control explicit
            """)
    void invalidModelControlOptionsAreRejected(String arguments, String expectedMessage) {
        StringWriter errors = new StringWriter();
        CommandLine command = new CommandLine(new Levee());
        command.setErr(new PrintWriter(errors));
        command.setOut(new PrintWriter(new StringWriter()));

        int exitCode = command.execute(("serve --port 0 " + arguments).split(" "));

        assertThat(exitCode).isEqualTo(CommandLine.ExitCode.USAGE);
        assertThat(errors.toString()).contains(expectedMessage);
    }
}
