import NIOCore

/// Splits a connection's bytes into request lines (docs/protocol.md: newline-delimited, at most 1 MiB).
///
/// A line over the limit is reported once as `.tooLong` and skipped up to its newline, so the
/// connection carries on with the next request instead of buffering without bound.
struct LineDecoder: ByteToMessageDecoder {
    /// What the decoder hands on.
    enum Frame {
        case line(ByteBuffer)
        case tooLong
    }

    typealias InboundOut = Frame
    let maxLength: Int
    private var discarding = false

    /// Limits lines to `maxLength` bytes (not counting the newline).
    init(maxLength: Int) { self.maxLength = maxLength }

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        if let newline = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) {
            let length = newline - buffer.readerIndex
            if discarding || length > maxLength {
                if !discarding { context.fireChannelRead(wrapInboundOut(.tooLong)) }
                discarding = false
                buffer.moveReaderIndex(forwardBy: length + 1)
                return .continue
            }
            let line = buffer.readSlice(length: length)!
            buffer.moveReaderIndex(forwardBy: 1)
            context.fireChannelRead(wrapInboundOut(.line(line)))
            return .continue
        }
        if buffer.readableBytes > maxLength {
            if !discarding { context.fireChannelRead(wrapInboundOut(.tooLong)) }
            discarding = true
            buffer.moveReaderIndex(forwardBy: buffer.readableBytes)
        }
        return .needMoreData
    }

    mutating func decodeLast(
        context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool
    ) throws -> DecodingState {
        // A last request without its newline is still a request.
        if buffer.readableBytes > 0, !discarding, buffer.readableBytes <= maxLength {
            let line = buffer.readSlice(length: buffer.readableBytes)!
            context.fireChannelRead(wrapInboundOut(.line(line)))
        }
        buffer.moveReaderIndex(forwardBy: buffer.readableBytes)
        return .needMoreData
    }
}
