/// A global position in the log: gap-free, from 1, strictly increasing.
public typealias Position = UInt64

/// A version within one stream: gap-free, from 1.
public typealias StreamVersion = UInt64
