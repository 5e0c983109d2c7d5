// React Native: a StoreProvider on expo-sqlite.
export {expoSQLiteStoreProvider} from '@zync/client/react-native';
