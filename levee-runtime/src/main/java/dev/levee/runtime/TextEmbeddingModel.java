package dev.levee.runtime;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import dev.levee.core.DataType;
import dev.levee.core.InferenceException;
import dev.levee.core.InferenceRequest;
import dev.levee.core.ModelMetadata;
import dev.levee.core.Tensor;
import dev.levee.core.TensorData;
import dev.levee.core.TensorMetadata;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A sentence-embedding transformer: text in as a BYTES tensor {@code text} of shape [N], FP32
 * {@code embedding} of shape [N, D] out. The node tokenizes, pads each batch only to its longest
 * sentence, runs the encoder, mean-pools the token vectors over the attention mask and
 * L2-normalizes, as sentence-transformers does for all-MiniLM-L6-v2.
 */
public final class TextEmbeddingModel implements Model {
    public static final String INPUT = "text";
    public static final String OUTPUT = "embedding";

    /** Longest input in tokens; all-MiniLM-L6-v2 was trained with this limit and truncates beyond it. */
    static final int MAX_TOKENS = 256;

    /**
     * Bytes of one text handed to the tokenizer. The tokenizer reads a whole text before it
     * truncates to {@link #MAX_TOKENS}, so a text of megabytes would hold the model instance for
     * seconds. 64 KiB contains the first 256 tokens unless they average more than 256 bytes each,
     * which only words too long for the vocabulary reach (each becomes one unknown-word token).
     */
    static final int MAX_TEXT_BYTES = 64 * 1024;

    private final OrtEnvironment environment;
    private final OrtSession session;
    private final HuggingFaceTokenizer tokenizer;
    private final ModelMetadata metadata;
    private final int dimensions;
    private final boolean hasTokenTypeIds;
    private final boolean batching;

    private TextEmbeddingModel(OrtEnvironment environment, OrtSession session, HuggingFaceTokenizer tokenizer,
            ModelMetadata metadata, int dimensions, boolean hasTokenTypeIds, boolean batching) {
        this.environment = environment;
        this.session = session;
        this.tokenizer = tokenizer;
        this.metadata = metadata;
        this.dimensions = dimensions;
        this.hasTokenTypeIds = hasTokenTypeIds;
        this.batching = batching;
    }

    /**
     * Loads the encoder graph and a Hugging Face {@code tokenizer.json}. The graph must take
     * {@code input_ids} and {@code attention_mask} (and optionally {@code token_type_ids}) and have
     * a first output of shape [batch, tokens, D].
     */
    public static TextEmbeddingModel load(String version, byte[] onnxModel, InputStream tokenizerJson,
            ModelConfig config) throws OrtException, IOException {
        Map<String, String> options = new HashMap<>();
        options.put("padding", "false");
        options.put("truncation", "true");
        options.put("maxLength", Integer.toString(MAX_TOKENS));
        HuggingFaceTokenizer tokenizer = HuggingFaceTokenizer.newInstance(tokenizerJson, options);
        OrtEnvironment environment = OnnxSessions.environment();
        OrtSession session;
        try (OrtSession.SessionOptions sessionOptions = OnnxSessions.options(config)) {
            session = environment.createSession(onnxModel, sessionOptions);
        } catch (OrtException e) {
            tokenizer.close();
            throw e;
        }
        try {
            Map<String, NodeInfo> inputs = session.getInputInfo();
            for (String required : List.of("input_ids", "attention_mask")) {
                if (!inputs.containsKey(required)) {
                    throw new OrtException("text embedding graph has no input '" + required + "'; it has "
                            + inputs.keySet());
                }
            }
            NodeInfo first = session.getOutputInfo().values().iterator().next();
            long[] outputShape = ((TensorInfo) first.getInfo()).getShape();
            if (outputShape.length != 3 || outputShape[2] <= 0) {
                throw new OrtException("text embedding graph's first output has shape "
                        + java.util.Arrays.toString(outputShape) + " (expected: [batch, tokens, dimensions])");
            }
            int dimensions = (int) outputShape[2];
            ModelMetadata metadata = new ModelMetadata(config.name(), List.of(version), "text_embedding",
                    List.of(new TensorMetadata(INPUT, DataType.BYTES, new long[] {-1})),
                    List.of(new TensorMetadata(OUTPUT, DataType.FP32, new long[] {-1, dimensions})));
            return new TextEmbeddingModel(environment, session, tokenizer, metadata, dimensions,
                    inputs.containsKey("token_type_ids"), config.maxBatchSize() > 0);
        } catch (OrtException | RuntimeException e) {
            session.close();
            tokenizer.close();
            throw e;
        }
    }

    @Override
    public ModelMetadata metadata() {
        return metadata;
    }

    /**
     * Returns false when the configuration's max batch size is 0, so that each request runs alone
     * with all its sentences.
     */
    @Override
    public boolean batching() {
        return batching;
    }

    /** Any two text requests can share a batch: padding makes their lengths agree. */
    @Override
    public String batchKey(InferenceRequest request) {
        return "";
    }

    @Override
    public void checkRequest(InferenceRequest request) {
        byte[][] elements = strings(request);
        CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        for (int i = 0; i < elements.length; i++) {
            try {
                decoder.reset().decode(ByteBuffer.wrap(elements[i]));
            } catch (CharacterCodingException e) {
                throw InferenceException.invalid("input '" + INPUT + "' element " + i + " is not valid UTF-8 text");
            }
        }
    }

    @Override
    public List<RowOutcome> run(List<InferenceRequest> batch) throws OrtException {
        List<String> texts = new ArrayList<>();
        for (InferenceRequest request : batch) {
            for (byte[] element : strings(request)) {
                texts.add(textOf(element));
            }
        }
        float[][] embeddings = embed(texts);
        List<RowOutcome> outcomes = new ArrayList<>(batch.size());
        int row = 0;
        for (InferenceRequest request : batch) {
            int rows = request.rows();
            float[] flat = new float[rows * dimensions];
            for (int i = 0; i < rows; i++) {
                System.arraycopy(embeddings[row++], 0, flat, i * dimensions, dimensions);
            }
            Tensor output = Tensor.ofFloats(OUTPUT, new long[] {rows, dimensions}, flat);
            outcomes.add(new RowOutcome.Success(List.of(output)));
        }
        return outcomes;
    }

    /** Embeds {@code rows} copies of a sentence of typical length (about a dozen tokens). */
    @Override
    public boolean warmup(int rows) throws OrtException {
        embed(java.util.Collections.nCopies(rows, "Results for the exam taken in June are published at nine today."));
        return true;
    }

    /** Returns one L2-normalized embedding per text, computed in a single forward pass. */
    public float[][] embed(List<String> texts) throws OrtException {
        Encoding[] encodings = tokenizer.batchEncode(texts);
        int batchSize = encodings.length;
        int length = 0;
        for (Encoding encoding : encodings) {
            length = Math.max(length, encoding.getIds().length);
        }
        long[] ids = new long[batchSize * length];
        long[] mask = new long[batchSize * length];
        long[] types = new long[batchSize * length];
        for (int b = 0; b < batchSize; b++) {
            long[] encodedIds = encodings[b].getIds();
            System.arraycopy(encodedIds, 0, ids, b * length, encodedIds.length);
            System.arraycopy(encodings[b].getAttentionMask(), 0, mask, b * length, encodedIds.length);
            System.arraycopy(encodings[b].getTypeIds(), 0, types, b * length, encodedIds.length);
        }
        long[] shape = {batchSize, length};
        Map<String, OnnxTensor> feeds = new HashMap<>();
        try {
            feeds.put("input_ids", OnnxTensor.createTensor(environment, LongBuffer.wrap(ids), shape));
            feeds.put("attention_mask", OnnxTensor.createTensor(environment, LongBuffer.wrap(mask), shape));
            if (hasTokenTypeIds) {
                feeds.put("token_type_ids", OnnxTensor.createTensor(environment, LongBuffer.wrap(types), shape));
            }
            try (OrtSession.Result result = session.run(feeds)) {
                FloatBuffer hidden = ((OnnxTensor) result.get(0)).getFloatBuffer();
                float[] values = new float[hidden.remaining()];
                hidden.get(values);
                return pool(values, mask, batchSize, length);
            }
        } finally {
            feeds.values().forEach(OnnxTensor::close);
        }
    }

    /** Mean over the tokens the attention mask keeps, then division by the L2 norm. */
    private float[][] pool(float[] hidden, long[] mask, int batchSize, int length) {
        float[][] pooled = new float[batchSize][dimensions];
        for (int b = 0; b < batchSize; b++) {
            float[] sum = pooled[b];
            int tokens = 0;
            for (int t = 0; t < length; t++) {
                if (mask[b * length + t] == 0) {
                    continue;
                }
                tokens++;
                int base = (b * length + t) * dimensions;
                for (int d = 0; d < dimensions; d++) {
                    sum[d] += hidden[base + d];
                }
            }
            double norm = 0;
            for (int d = 0; d < dimensions; d++) {
                sum[d] /= Math.max(tokens, 1);
                norm += (double) sum[d] * sum[d];
            }
            // sentence-transformers' Normalize layer clamps the norm at 1e-12 the same way.
            float scale = (float) (1.0 / Math.max(Math.sqrt(norm), 1e-12));
            for (int d = 0; d < dimensions; d++) {
                sum[d] *= scale;
            }
        }
        return pooled;
    }

    /** Decodes a text, cut at {@link #MAX_TEXT_BYTES}; a character split by the cut is replaced. */
    private static String textOf(byte[] element) {
        return new String(element, 0, Math.min(element.length, MAX_TEXT_BYTES), StandardCharsets.UTF_8);
    }

    private static byte[][] strings(InferenceRequest request) {
        Tensor input = request.input(INPUT).orElseThrow(
                () -> InferenceException.invalid("missing input '" + INPUT + "'"));
        return ((TensorData.Strings) input.data()).elements();
    }

    @Override
    public void close() {
        tokenizer.close();
        try {
            session.close();
        } catch (OrtException e) {
            throw InferenceException.internal("closing the ONNX session of model " + metadata.name() + " failed", e);
        }
    }
}
